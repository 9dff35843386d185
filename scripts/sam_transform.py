#!/usr/bin/env python3
"""Transforms a SAM template into plain CloudFormation, offline, so cfn-lint can check what SAM
actually generates (cfn-lint on the SAM template misses typos in optional event and authorizer
properties).

Usage: sam_transform.py TEMPLATE OUTPUT.json

No AWS credentials and no network: code locations are replaced by a dummy S3 URI, the managed
policy loader knows no policies, and the region is fixed.
"""

import json
import os
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")

from samtranslator.model.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

DUMMY_CODE = "s3://dummy-bucket/code.zip"


class OfflinePolicyLoader:
    """SAM asks this for the ARNs of managed policies named without an ARN; the template names
    none, so an empty map suffices and nothing is fetched."""

    def load(self):
        return {}


def main(template_path, output_path):
    with open(template_path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    function_globals = template.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = DUMMY_CODE
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = DUMMY_CODE
    try:
        transformed = transform(template, {"AWS::Region": os.environ["AWS_DEFAULT_REGION"]}, OfflinePolicyLoader())
    except InvalidDocumentException as e:
        for cause in e.causes:
            print(f"{template_path}: SAM transform: {cause.message}", file=sys.stderr)
        sys.exit(1)
    with open(output_path, "w", encoding="utf-8") as f:
        json.dump(transformed, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
