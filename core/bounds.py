"""The ranges of the Postgres integer types, for the API types whose values are stored in
or compared with such a column: a number beyond them is refused at the edge, declared in
the OpenAPI document, rather than failing in Postgres."""

# integer (int4): versions, counts.
INT4_MAX = 2**31 - 1
