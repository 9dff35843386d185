//! The LDAP bind password from a Secrets Manager secret (`LDAP_SECRET_ARN`),
//! read through the real AWS SDK from a local emulator (moto's server), once
//! per container. One test in this binary, because it sets the process-wide
//! AWS environment variables.

use appointments_list::directory::{DirectoryConfig, Password, StaffDirectory};
use delius_testkit::ldap::LdapServer;
use delius_testkit::moto::MotoServer;

fn set_env(key: &str, value: &str) {
    // SAFETY: this binary has one test, and it sets the variables before the
    // SDK reads them; no other thread reads the environment concurrently.
    unsafe { std::env::set_var(key, value) };
}

#[tokio::test]
async fn the_bind_password_comes_from_a_secret_read_once() {
    for (key, value) in [
        ("AWS_REGION", "eu-west-2"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        set_env(key, value);
    }
    let moto = MotoServer::start().await;
    set_env("AWS_ENDPOINT_URL", &moto.url);
    let ldap = LdapServer::start();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    let arn = aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name("delius-ldap-bind-password")
        .secret_string(ldap.bind_password.clone())
        .send()
        .await
        .expect("create the secret in moto")
        .arn()
        .unwrap()
        .to_string();

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
