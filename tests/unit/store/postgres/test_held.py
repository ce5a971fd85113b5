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


async def test_a_write_that_answers_is_sent_with_the_rest_and_its_answer_handed_over() -> None:
    conn = Connection()
    held = HeldWrites(conn)
    answers: list[object] = []
    await held.hold("INSERT INTO a (x) VALUES ($1)", (1,), "a")
    await held.hold("INSERT INTO p (x) VALUES ($1) RETURNING seq", (2,), "p", answer=answers.append)
    await held.hold("INSERT INTO e (x) VALUES ($1)", (3,), "e")
    assert answers == [] and conn.sent == []
    await held.flush()
    assert conn.sent == [
        (
            "WITH w0 AS (INSERT INTO a (x) VALUES ($1)),"
            " w1 AS (INSERT INTO p (x) VALUES ($2) RETURNING seq),"
            " w2 AS (INSERT INTO e (x) VALUES ($3)) SELECT * FROM w1",
            (1, 2, 3),
        )
    ]
    assert answers == [1]  # what the statement answered


async def test_one_answering_write_per_statement_and_alone_it_is_sent_as_itself() -> None:
    conn = Connection()
    held = HeldWrites(conn)
    answers: list[object] = []
    await held.hold("INSERT INTO p (x) VALUES ($1) RETURNING seq", (1,), answer=answers.append)
    await held.hold("INSERT INTO q (x) VALUES ($1) RETURNING seq", (2,), answer=answers.append)
    assert conn.sent == [("INSERT INTO p (x) VALUES ($1) RETURNING seq", (1,))]
    assert answers == [1]
    await held.flush()
    assert len(conn.sent) == 2 and answers == [1, 1]


async def test_a_write_names_every_row_it_touches() -> None:
    conn = Connection()
    held = HeldWrites(conn)
    await held.hold("INSERT INTO p (k) VALUES ($1)", ("k",), "p", ("p", "k"))
    await held.hold("UPDATE p SET x = 1 WHERE k = $1", ("k",), ("p", "k"))
    assert conn.sent == [("INSERT INTO p (k) VALUES ($1)", ("k",))]  # never one statement
