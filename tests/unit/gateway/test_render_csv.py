"""CSV rendering of the 2010 edition (service.gateway.render_csv)."""

from __future__ import annotations

from service.gateway import render_csv


def test_csv_quotes_and_header_without_rows() -> None:
    text = render_csv.table([{"label": 'a "b", c', "hold": False, "x": None}]).decode()
    assert text == 'Label,Hold,X\r\n"a ""b"", c",false,\r\n'
    assert render_csv.table([], ["call_sid", "muted"]) == b"CallSid,Muted\r\n"
