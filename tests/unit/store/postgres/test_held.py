"""The PostgreSQL write transaction's held writes (store.postgres.held), without
a database: what reaches the connection, in which statements. The store
contract suite runs them against a real PostgreSQL."""

from __future__ import annotations

from typing import Any

from service.store.postgres.held import HeldWrites, values


class Connection:
    """Records the statements asyncpg would have sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...]]] = []

    async def execute(self, sql: str, *args: Any) -> str:
        self.sent.append((sql, args))
        return "OK"

    async def fetchval(self, sql: str, *args: Any) -> int:
        self.sent.append((sql, args))
        return 1


def test_values_number_each_row_after_the_last() -> None:
    assert values(2, 1) == "($1, $2)"
    assert values(2, 3) == "($1, $2), ($3, $4), ($5, $6)"


async def test_held_writes_go_as_one_statement_with_their_placeholders_shifted() -> None:
    conn = Connection()
    held = HeldWrites(conn)
    await held.hold("UPDATE a SET x = $1 WHERE k = $2", (1, "k"), ("a", "k"))
    await held.hold("INSERT INTO b (x, y) VALUES ($1, $2), ($3, $4)", (2, 3, 4, 5), "b")
    assert conn.sent == []
    await held.flush()
    assert conn.sent == [
        (
            "WITH w0 AS (UPDATE a SET x = $1 WHERE k = $2),"
            " w1 AS (INSERT INTO b (x, y) VALUES ($3, $4), ($5, $6)) SELECT 1",
            (1, "k", 2, 3, 4, 5),
        )
    ]
    await held.flush()
    assert len(conn.sent) == 1  # nothing held: nothing sent


async def test_a_second_write_to_the_same_row_or_table_sends_the_first() -> None:
    conn = Connection()
    held = HeldWrites(conn)
    await held.hold("UPDATE a SET x = $1 WHERE k = $2", (1, "k"), ("a", "k"))
    await held.hold("UPDATE a SET x = $1 WHERE k = $2", (2, "k"), ("a", "k"))
    assert conn.sent == [("UPDATE a SET x = $1 WHERE k = $2", (1, "k"))]
    await held.hold("INSERT INTO b (x) VALUES ($1)", (1,), "b")
    await held.hold("INSERT INTO b (x) VALUES ($1)", (2,), "b")
    assert len(conn.sent) == 2 and conn.sent[-1][1] == (2, "k", 1)


async def test_any_statement_through_the_connection_sends_what_is_held_first() -> None:
    conn = Connection()
    held = HeldWrites(conn)
    await held.hold("INSERT INTO b (x) VALUES ($1)", (7,), "b")
    assert await held.connection.fetchval("SELECT count(*) FROM b") == 1
    assert conn.sent == [("INSERT INTO b (x) VALUES ($1)", (7,)), ("SELECT count(*) FROM b", ())]
