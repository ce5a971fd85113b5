"""Validators for Twilio's Conference and conference list-page schemas.

conferences.openapi.json beside this file is a trimmed subset of Twilio's
official OpenAPI document for api.twilio.com/2010-04-01
(twilio/twilio-oai, spec/json/twilio_api_v2010.json at commit d50069b,
MIT-licensed): the two Conference paths (`Conferences.json`,
`Conferences/{Sid}.json`) and the four schemas they reference, copied
unchanged; only info.title and info.description say it is a subset.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

from openapi_schema_validator import OAS30Validator, oas30_format_checker

SPEC: dict[str, Any] = json.loads(
    (pathlib.Path(__file__).parent / "conferences.openapi.json").read_text()
)
COLLECTION = "/2010-04-01/Accounts/{AccountSid}/Conferences.json"
CONFERENCE_SCHEMA = SPEC["components"]["schemas"]["api.v2010.account.conference"]
LIST_SCHEMA = SPEC["paths"][COLLECTION]["get"]["responses"]["200"]["content"]["application/json"][
    "schema"
]


def _validator(schema: dict[str, Any]) -> OAS30Validator:
    return OAS30Validator(
        {**schema, "components": SPEC["components"]}, format_checker=oas30_format_checker
    )


CONFERENCE_VALIDATOR = _validator(CONFERENCE_SCHEMA)
LIST_VALIDATOR = _validator(LIST_SCHEMA)
