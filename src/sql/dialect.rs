//! What differs between the SQL engines the queries run on: quoting, a double-precision literal, the
//! test for a non-finite value, the types' names. Everything else is written once, in the SQL all four
//! accept.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    DuckDb,
    Spark,
    BigQuery,
    Snowflake,
}

impl FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Dialect, String> {
        match s.to_ascii_lowercase().as_str() {
            "duckdb" => Ok(Dialect::DuckDb),
            "spark" | "sparksql" | "databricks" => Ok(Dialect::Spark),
            "bigquery" | "bq" => Ok(Dialect::BigQuery),
            "snowflake" => Ok(Dialect::Snowflake),
            _ => Err(format!(
                "unknown SQL dialect {s:?}; use duckdb, spark, bigquery or snowflake"
            )),
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::DuckDb => "duckdb",
            Dialect::Spark => "spark",
            Dialect::BigQuery => "bigquery",
            Dialect::Snowflake => "snowflake",
        })
    }
}

impl Dialect {
    pub const ALL: [Dialect; 4] = [
        Dialect::DuckDb,
        Dialect::Spark,
        Dialect::BigQuery,
        Dialect::Snowflake,
    ];

    /// The engine's name for people.
    pub fn label(self) -> &'static str {
        match self {
            Dialect::DuckDb => "DuckDB",
            Dialect::Spark => "Spark SQL",
            Dialect::BigQuery => "BigQuery",
            Dialect::Snowflake => "Snowflake",
        }
    }

    /// A column name, quoted (feature ids hold `:` and `=`).
    pub fn ident(self, name: &str) -> String {
        match self {
            Dialect::Spark | Dialect::BigQuery => format!("`{}`", name.replace('`', "``")),
            Dialect::DuckDb | Dialect::Snowflake => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// The name a column with this Persona Lab name has in the engine: BigQuery's column names
    /// cannot hold a `.` (a quoted `a.b` is a path there), so `sum:event_params.quantity` is
    /// `sum:event_params__quantity` in BigQuery, written by the features query and read by the
    /// assign query alike; other engines keep the name.
    pub fn column_name(self, name: &str) -> String {
        match self {
            Dialect::BigQuery => name.replace('.', "__"),
            _ => name.to_string(),
        }
    }

    /// A text literal.
    pub fn text(self, s: &str) -> String {
        match self {
            // BigQuery and Spark read a backslash in a literal as an escape.
            Dialect::Spark | Dialect::BigQuery => {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            }
            // So does Snowflake (`'\N'` is `N` there), which also takes a doubled quote.
            Dialect::Snowflake => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''")),
            Dialect::DuckDb => format!("'{}'", s.replace('\'', "''")),
        }
    }

    pub fn double_type(self) -> &'static str {
        match self {
            Dialect::DuckDb | Dialect::Spark => "DOUBLE",
            Dialect::BigQuery => "FLOAT64",
            Dialect::Snowflake => "FLOAT",
        }
    }

    pub fn text_type(self) -> &'static str {
        match self {
            Dialect::DuckDb => "VARCHAR",
            Dialect::Spark | Dialect::BigQuery => "STRING",
            Dialect::Snowflake => "VARCHAR",
        }
    }

    /// A double exactly: the shortest decimal that reads back to it, parsed from text (a bare `0.1`
    /// is a DECIMAL in DuckDB, Spark and Snowflake, and a conversion from DECIMAL can round twice).
    pub fn num(self, x: f64) -> String {
        format!("CAST('{x:?}' AS {})", self.double_type())
    }

    /// `x` as a double, or NULL when it is NaN or infinite (the runtime treats both as missing).
    pub fn finite(self, x: &str) -> String {
        let d = self.double_type();
        match self {
            Dialect::DuckDb => {
                format!(
                    "CASE WHEN isnan(CAST({x} AS {d})) OR isinf(CAST({x} AS {d})) THEN NULL ELSE CAST({x} AS {d}) END"
                )
            }
            Dialect::BigQuery => {
                format!(
                    "CASE WHEN IS_NAN(CAST({x} AS {d})) OR IS_INF(CAST({x} AS {d})) THEN NULL ELSE CAST({x} AS {d}) END"
                )
            }
            Dialect::Spark => format!(
                "CASE WHEN isnan(CAST({x} AS {d})) OR abs(CAST({x} AS {d})) = CAST('Infinity' AS {d}) THEN NULL ELSE CAST({x} AS {d}) END"
            ),
            Dialect::Snowflake => format!(
                "CASE WHEN CAST({x} AS {d}) = CAST('NaN' AS {d}) OR abs(CAST({x} AS {d})) = CAST('inf' AS {d}) THEN NULL ELSE CAST({x} AS {d}) END"
            ),
        }
    }
}
