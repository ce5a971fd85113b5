"""Validators for Twilio's participant and list-page schemas.

participants.openapi.json beside this file is an unchanged copy of the
trimmed Twilio spec in /work/shared/twilio (twilio/twilio-oai d50069b, MIT).
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

from openapi_schema_validator import OAS30Validator, oas30_format_checker

SPEC: dict[str, Any] = json.loads(
    (pathlib.Path(__file__).parent / "participants.openapi.json").read_text()
)
COLLECTION = "/2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants.json"
PARTICIPANT_SCHEMA = SPEC["components"]["schemas"]["api.v2010.account.conference.participant"]
LIST_SCHEMA = SPEC["paths"][COLLECTION]["get"]["responses"]["200"]["content"]["application/json"][
    "schema"
]


def _validator(schema: dict[str, Any]) -> OAS30Validator:
    # $refs point into #/components, so the components ride along at the root.
    return OAS30Validator(
        {**schema, "components": SPEC["components"]}, format_checker=oas30_format_checker
    )


PARTICIPANT_VALIDATOR = _validator(PARTICIPANT_SCHEMA)
LIST_VALIDATOR = _validator(LIST_SCHEMA)


def example(method: str, status: str, name: str) -> Any:
    content = SPEC["paths"][COLLECTION][method]["responses"][status]["content"]
    return content["application/json"]["examples"][name]["value"]
