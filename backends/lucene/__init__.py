"""Elasticsearch Lucene ``query_string``: emitter (``backend``), interpreter (``parser``), semantics."""
