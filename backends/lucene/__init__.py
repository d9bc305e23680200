"""Elasticsearch Lucene ``query_string``: emitter, interpreter (parser, lower) and semantics."""
