//! The LDAP bind password from a Secrets Manager secret (`LDAP_SECRET_ARN`),
//! read through the real AWS SDK from a local emulator (moto's server), once
//! per container. One test in this binary, because it sets the process-wide
//! AWS environment variables.

use appointments_list::directory::{DirectoryConfig, Password, StaffDirectory};
use delius_testkit::ldap::LdapServer;
use delius_testkit::moto::{MotoServer, set_aws_test_environment};

#[tokio::test]
async fn the_bind_password_comes_from_a_secret_read_once() {
    let moto = MotoServer::start().await;
    // SAFETY: this binary has one test, and it sets the variables before the
    // SDK reads them; no other thread reads the environment concurrently.
    unsafe { set_aws_test_environment(Some(&moto.url)) };
    let ldap = LdapServer::start();
    let arn = moto.create_secret("delius-ldap-bind-password", &ldap.bind_password).await;

    let env =
        [("LDAP_URL", ldap.url.clone()), ("LDAP_BIND_DN", ldap.bind_dn.clone()), ("LDAP_SECRET_ARN", arn.clone())];
    let config = DirectoryConfig::from_lookup(|name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
        .unwrap()
        .unwrap();
    assert_eq!(config.password, Password::Secret { arn });
    let directory = StaffDirectory::new(config);
    let names = ["john-smith".to_string()];
    let expected = appointments_list::ContactDetails {
        email: Some("john.smith@moj.gov.uk".into()),
        telephone: Some("07321165373".into()),
    };
    assert_eq!(directory.contact_details(&names).await.get("john-smith"), Some(&expected));

    // With the emulator gone, the password read before still binds.
    drop(moto);
    assert_eq!(directory.contact_details(&names).await.get("john-smith"), Some(&expected));
}
