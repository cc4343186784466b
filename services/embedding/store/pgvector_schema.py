"""The PostgreSQL + pgvector schema of the server gallery store: tables, index and checks.

Tables live in one PostgreSQL schema (the store's ``schema`` option), so several deployments or
test runs can share a database. ``faces.embedding`` is a ``vector(dimension)`` column with an
HNSW index (``vector_cosine_ops``), part of the table, so PostgreSQL is the only source of truth.
``create_schema`` runs at every start (idempotent, under an advisory lock so replicas starting
together do not race), so a table added later (``face_thumbnails``: the tenant-chosen JPEG of
each face, deleted with it by the cascade) appears in an existing schema at the first start of
a newer version; ``check_schema`` is the store's consistency check.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import psycopg
from numpy.typing import NDArray

from services.embedding.store.errors import DimensionMismatchError, StoreInconsistentError
from services.shared.postgres import SCHEMA_NAME

DDL = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {schema}.groups (
    id BIGSERIAL PRIMARY KEY,
    tenant TEXT NOT NULL,
    group_id TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    UNIQUE (tenant, group_id)
);
CREATE TABLE IF NOT EXISTS {schema}.users (
    id BIGSERIAL PRIMARY KEY,
    group_pk BIGINT NOT NULL REFERENCES {schema}.groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    user_info TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL,
    UNIQUE (group_pk, user_id)
);
CREATE TABLE IF NOT EXISTS {schema}.faces (
    id BIGSERIAL PRIMARY KEY,
    face_token TEXT NOT NULL UNIQUE,
    user_pk BIGINT NOT NULL REFERENCES {schema}.users (id) ON DELETE CASCADE,
    group_pk BIGINT NOT NULL REFERENCES {schema}.groups (id) ON DELETE CASCADE,
    image_sha256 TEXT NOT NULL,
    embedding vector({dimension}) NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    CONSTRAINT faces_user_image UNIQUE (user_pk, image_sha256)
);
CREATE INDEX IF NOT EXISTS faces_by_group ON {schema}.faces (group_pk);
CREATE INDEX IF NOT EXISTS faces_by_group_user ON {schema}.faces (group_pk, user_pk);
CREATE INDEX IF NOT EXISTS faces_embedding_hnsw ON {schema}.faces
    USING hnsw (embedding vector_cosine_ops) WITH (m = {m}, ef_construction = {ef_construction});
CREATE TABLE IF NOT EXISTS {schema}.face_images (
    face_pk BIGINT PRIMARY KEY REFERENCES {schema}.faces (id) ON DELETE CASCADE,
    image BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.face_thumbnails (
    face_pk BIGINT PRIMARY KEY REFERENCES {schema}.faces (id) ON DELETE CASCADE,
    jpeg BYTEA NOT NULL
);
"""


def check_schema_name(schema: str) -> str:
    """A schema name that is safe to put into SQL: a lowercase identifier."""
    if not SCHEMA_NAME.match(schema):
        raise ValueError("schema must be a lowercase SQL identifier")
    return schema


def create_schema(
    db: psycopg.Connection[Any], schema: str, dimension: int, m: int, ef_construction: int
) -> None:
    """Create the tables and the HNSW index if needed and record the embedding dimension.

    ``ValueError`` when the schema stores embeddings of another dimension.
    """
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (schema,))
        db.execute(
            DDL.format(schema=schema, dimension=dimension, m=m, ef_construction=ef_construction)
        )
        row = db.execute(f"SELECT value FROM {schema}.meta WHERE key = 'dimension'").fetchone()
        if row is None:
            db.execute(
                f"INSERT INTO {schema}.meta (key, value) VALUES ('dimension', %s)",
                (str(dimension),),
            )
        elif int(row[0]) != dimension:
            raise DimensionMismatchError(int(row[0]), dimension)


def check_schema(db: psycopg.Connection[Any], schema: str, dimension: int) -> None:
    """Prove the HNSW index exists and is valid and the vector column has ``dimension``."""
    row = db.execute(
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = 'faces_embedding_hnsw'",
        (schema,),
    ).fetchone()
    if row is None or not row[0]:
        raise StoreInconsistentError("the pgvector HNSW index is missing or invalid")
    typmod = db.execute(
        "SELECT a.atttypmod FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = 'faces' AND a.attname = 'embedding'",
        (schema,),
    ).fetchone()
    if typmod is None or int(typmod[0]) != dimension:
        raise StoreInconsistentError("the embedding column has another dimension")


def vector_literal(vector: NDArray[np.float32]) -> str:
    """pgvector's text form of a vector: ``[v1,v2,...]``."""
    return "[" + ",".join(repr(float(v)) for v in vector) + "]"
