"""Records over HTTP: dataset uploads, single records created idempotently, paged reads."""
