"""The exact side of search: full-text matching over the stored utterances, in the database itself.

SQLite: an FTS5 table over `utterances` (external content, Porter stemming), kept in step by triggers, so every
write path (analysis, re-analysis, deletion, a call renamed) updates it with no code of ours. PostgreSQL: the
built-in full-text search over `to_tsvector('english', text)`, with a GIN index on that expression. Both are
created by migration 0006 (idempotently); `rebuild` refills SQLite's table (`winloss reindex` runs it).

A query is words and "quoted phrases": every phrase must appear as written (stemmed); any word may.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection, Engine

FTS = "utterances_fts"
_SQLITE = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5(text, content='utterances', content_rowid='rowid', "
    "tokenize='porter unicode61')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_ai AFTER INSERT ON utterances BEGIN "
    f"INSERT INTO {FTS}(rowid, text) VALUES (new.rowid, new.text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_ad AFTER DELETE ON utterances BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, text) VALUES ('delete', old.rowid, old.text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_au AFTER UPDATE ON utterances BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, text) VALUES ('delete', old.rowid, old.text); "
    f"INSERT INTO {FTS}(rowid, text) VALUES (new.rowid, new.text); END",
]
_POSTGRES = [f"CREATE INDEX IF NOT EXISTS {FTS} ON utterances USING gin (to_tsvector('english', text))"]
# Words that say nothing about what is searched for: they neither make a match nor count towards its coverage.
STOPWORDS = frozenset("a an and are as at be but by do does for from has have how i in is it its of on or our so "
                      "that the their them they this to was we were what when where which who why will with you "
                      "your".split())
_PHRASE = re.compile(r'"([^"]+)"')
_WORD = re.compile(r"\w+(?:['’]\w+)*")


class TextQuery(BaseModel):
    """A search query split into what must appear as written (phrases) and what may (words)."""

    phrases: list[str]
    words: list[str]

    @classmethod
    def parse(cls, query: str) -> TextQuery:
        phrases = [" ".join(_WORD.findall(p)) for p in _PHRASE.findall(query)]
        rest = _PHRASE.sub(" ", query).replace('"', " ")
        words = [w for w in dict.fromkeys(w.lower() for w in _WORD.findall(rest)) if w not in STOPWORDS]
        return cls(phrases=[p for p in phrases if p], words=words)

    @property
    def empty(self) -> bool:
        return not self.phrases and not self.words

    def coverage(self, text: str) -> float:
        """Share of the query's terms in `text` (a word also as the start of a longer one: price, prices)."""
        terms = [*self.phrases, *self.words]
        if not terms:
            return 0.0
        lowered = " ".join(_WORD.findall(text.lower()))
        found = sum(bool(re.search(rf"\b{re.escape(t.lower())}\w*", lowered)) for t in terms)
        return found / len(terms)

    def has_phrases(self, text: str) -> bool:
        lowered = " ".join(_WORD.findall(text.lower()))
        return all(re.search(rf"\b{re.escape(p.lower())}\b", lowered) for p in self.phrases)


def ensure(conn: Connection) -> None:
    """Create the full-text structures if they are missing (an older store gets them, filled, on opening)."""
    if conn.dialect.name == "sqlite":
        created = not sa.inspect(conn).has_table(FTS)
        for statement in _SQLITE:
            conn.exec_driver_sql(statement)
        if created:
            conn.exec_driver_sql(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")
    elif conn.dialect.name == "postgresql":
        for statement in _POSTGRES:
            conn.exec_driver_sql(statement)


def rebuild(engine: Engine) -> None:
    """Refill SQLite's full-text table from the utterances (PostgreSQL's index needs nothing)."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")


def _fts5_string(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _matches(dialect: str, query: TextQuery) -> sa.Select:
    """(call_id, idx) of the utterances that match, best first, as a statement to filter further."""
    from winloss.pipeline.storage.store import utterances

    if dialect == "sqlite":
        fts = sa.table(FTS, sa.column("rowid"), sa.column("rank"))
        words = " OR ".join(map(_fts5_string, query.words))
        expression = " AND ".join([*(_fts5_string(p) for p in query.phrases), *([f"({words})"] if words else [])])
        return (sa.select(utterances.c.call_id, utterances.c.idx)
                .select_from(fts.join(utterances, sa.literal_column("utterances.rowid") == fts.c.rowid))
                .where(sa.text(f"{FTS} MATCH :fts_query").bindparams(fts_query=expression))
                .order_by(fts.c.rank))
    vector = sa.func.to_tsvector("english", utterances.c.text)
    parts = [sa.func.phraseto_tsquery("english", p) for p in query.phrases]
    if query.words:  # any of the words: OR'ed lexemes (to_tsquery stems them as it parses)
        parts.append(sa.func.to_tsquery("english", " | ".join(re.sub(r"\W", "", w) or "_" for w in query.words)))
    tsquery = parts[0]
    for part in parts[1:]:
        tsquery = tsquery.op("&&")(part)
    return (sa.select(utterances.c.call_id, utterances.c.idx).where(vector.op("@@")(tsquery))
            .order_by(sa.func.ts_rank(vector, tsquery).desc()))


def spoken_by(name: str) -> sa.Select:
    """(call_id, idx) of what `name` said: utterances under that speaker name, or the rep's turns in the calls
    whose rep has that name (case-insensitive)."""
    from winloss.pipeline.storage.store import calls, utterances

    lowered = name.strip().lower()
    return (sa.select(utterances.c.call_id, utterances.c.idx)
            .select_from(utterances.join(calls, calls.c.call_id == utterances.c.call_id))
            .where(sa.or_(sa.func.lower(utterances.c.speaker) == lowered,
                          sa.and_(utterances.c.role == "rep", sa.func.lower(calls.c.rep) == lowered))))


def utterance_keys(engine: Engine, selection: sa.Select) -> set[tuple[str, int]]:
    with engine.connect() as conn:
        return {(c, i) for c, i in conn.execute(selection)}


def exact(engine: Engine, query: TextQuery, scope: str, limit: int, call_ids: list[str] | None = None,
          role: str | None = None, kind: str | None = None, label: str | None = None) -> list[str]:
    """Ids of the index documents whose utterance matches the query, best first: `call_id:idx` for utterances,
    finding ids for findings (the findings in a matching utterance, within kind, label and role)."""
    from winloss.pipeline.storage.store import findings, utterances

    if query.empty or call_ids == []:
        return []
    q = _matches(engine.dialect.name, query)
    if call_ids is not None:
        q = q.where(utterances.c.call_id.in_(call_ids))
    if scope == "utterances":
        if role:
            q = q.where(utterances.c.role == role)
        with engine.connect() as conn:
            return [f"{c}:{i}" for c, i in conn.execute(q.limit(limit))]
    q = (q.add_columns(findings.c.finding_id)
         .join(findings, sa.and_(findings.c.call_id == utterances.c.call_id,
                                 findings.c.utterance_index == utterances.c.idx)))
    for column, value in (("role", role), ("kind", kind), ("label", label)):
        if value:
            q = q.where(findings.c[column] == value)
    with engine.connect() as conn:
        return [row[-1] for row in conn.execute(q.limit(limit))]
