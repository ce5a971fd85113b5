"""Resources, list pages and errors as CSV (Twilio's `.csv` representation).

Rule 1: CSV is the JSON representation flattened, under a header row: one row per
        record of a list page (its paging keys are not records), one row for a
        single resource or an error.
Rule 2: column names are the XML element names (`CallSid`) in the JSON key order;
        booleans are `true`/`false`, null is an empty cell, and a nested object
        becomes one column per key (`SubresourceUrisParticipants`).
Rule 3: a page without records still has its header row, from `columns`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from service.gateway.render_xml import camel

CONTENT_TYPE = "text/csv"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flat(record: Mapping[str, Any]) -> dict[str, str]:
    row: dict[str, str] = {}
    for key, value in record.items():
        if isinstance(value, Mapping):
            for inner, inner_value in value.items():
                row[camel(key) + camel(inner)] = _cell(inner_value)
        else:
            row[camel(key)] = _cell(value)
    return row


def table(records: Sequence[Mapping[str, Any]], columns: Sequence[str] = ()) -> bytes:
    rows = [_flat(record) for record in records]
    header = list(rows[0]) if rows else [camel(c) for c in columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return out.getvalue().encode()


def error(body: Mapping[str, Any]) -> bytes:
    return table([{k: body[k] for k in ("code", "message", "more_info", "status") if k in body}])
