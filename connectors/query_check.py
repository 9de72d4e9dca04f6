"""`single_select`: a source's `query:` must be one SELECT, read by sqlglot in the source's dialect.

A `query:` is pasted into a subquery, so text such as `select 1) x; COMMIT; BEGIN READ WRITE; DROP
TABLE t; select * from (select 1` would otherwise end the subquery and run statements of its own.
The check refuses anything sqlglot does not read as exactly one query (SELECT, UNION and friends,
VALUES, WITH ... SELECT) without a data-changing part (a `DELETE` in a CTE, `SELECT ... INTO`).
It is the first of three locks: the session is read-only and the statement goes over a protocol
that runs one statement (connectors/sql.py); a read-only database role is the one that holds when
the others are bypassed (docs/security.md).

The dialect names here map SQLAlchemy's backend names to sqlglot's; connectors cannot import the
engine's `SqlDialect` classes, which sit above them.
"""

from __future__ import annotations

from typing import Any

# SQLAlchemy backend name (the URL's scheme before "+") -> sqlglot dialect.
SQLGLOT_DIALECTS: dict[str, str] = {
    "postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
    "duckdb": "duckdb",
    "trino": "trino",
    "presto": "presto",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "databricks": "databricks",
    "clickhouse": "clickhouse",
    "redshift": "redshift",
    "oracle": "oracle",
    "mssql": "tsql",
}


def backend_of(url: str) -> str:
    """The backend name of a SQLAlchemy URL (`postgresql+psycopg://...` -> `postgresql`)."""
    return url.split(":", 1)[0].split("+", 1)[0].strip().lower()


def single_select(query: str, backend: str) -> str:
    """The query without its trailing `;`, or ValueError with one sentence saying why it is refused."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    dialect = SQLGLOT_DIALECTS.get(backend)
    try:
        statements = [s for s in sqlglot.parse(query, read=dialect) if s is not None]
    except ParseError as error:
        where = _where(error.errors[0] if error.errors else {})
        raise ValueError(
            f"`query:` is not one SELECT that Northstar can read{where}; write a single SELECT "
            "(no `;` between statements)"
        ) from None
    except TokenError:
        raise ValueError("`query:` is not one SELECT that Northstar can read (an unclosed quote?)") from None
    if len(statements) != 1:
        raise ValueError(
            f"`query:` holds {len(statements)} statements; a source reads one SELECT (no `;` between statements)"
        )
    statement = statements[0]
    while isinstance(statement, exp.Subquery):
        statement = statement.this
    if not isinstance(statement, exp.Query | exp.Values):
        raise ValueError(
            f"`query:` is a {statement.key.upper()} statement; a source reads one SELECT, nothing else"
        )
    changing = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter, exp.Command)
    for node in statement.walk():
        if isinstance(node, changing):
            raise ValueError(f"`query:` holds a {node.key.upper()}; a source reads one SELECT, nothing else")
        if isinstance(node, exp.Select) and node.args.get("into") is not None:
            raise ValueError("`query:` is a SELECT ... INTO, which creates a table; drop the INTO")
    return query.strip().rstrip(";").strip()


def _where(error: dict[str, Any]) -> str:
    line, col = error.get("line"), error.get("col")
    description = str(error.get("description") or "").strip()
    place = f" at line {line}, column {col}" if line and col else ""
    return f" ({description}{place})" if description else place


__all__ = ["SQLGLOT_DIALECTS", "backend_of", "single_select"]
