package testenv

// The pgx database/sql driver, registered as "pgx" for PingContext above.
import _ "github.com/jackc/pgx/v5/stdlib"
