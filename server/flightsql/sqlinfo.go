package flightsql

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
)

// sqlInfo is what GetSqlInfo reports. Every id a client may ask for must be
// here: one unknown id fails the whole request.
func sqlInfo(version string, writable bool) map[flightsql.SqlInfo]any {
	return map[flightsql.SqlInfo]any{
		flightsql.SqlInfoFlightSqlServerName:                "qry",
		flightsql.SqlInfoFlightSqlServerVersion:             version,
		flightsql.SqlInfoFlightSqlServerArrowVersion:        arrow.PkgVersion,
		flightsql.SqlInfoFlightSqlServerReadOnly:            !writable,
		flightsql.SqlInfoFlightSqlServerSql:                 true,
		flightsql.SqlInfoFlightSqlServerSubstrait:           false,
		flightsql.SqlInfoFlightSqlServerSubstraitMinVersion: "",
		flightsql.SqlInfoFlightSqlServerSubstraitMaxVersion: "",
		// No transactions: ADBC would begin one at connect otherwise.
		flightsql.SqlInfoFlightSqlServerTransaction:                 int32(flightsql.SqlTransactionNone),
		flightsql.SqlInfoFlightSqlServerCancel:                      true,
		flightsql.SqlInfoFlightSqlServerBulkIngestion:               writable,
		flightsql.SqlInfoFlightSqlServerIngestTransactionsSupported: false,
		flightsql.SqlInfoFlightSqlServerStatementTimeout:            int32(0),
		flightsql.SqlInfoFlightSqlServerTransactionTimeout:          int32(0),
		flightsql.SqlInfoTransactionsSupported:                      false,
		flightsql.SqlInfoDDLCatalog:                                 false,
		flightsql.SqlInfoDDLSchema:                                  false,
		flightsql.SqlInfoDDLTable:                                   false,
		flightsql.SqlInfoIdentifierCase:                             int64(flightsql.SqlCaseSensitivityCaseInsensitive),
		flightsql.SqlInfoQuotedIdentifierCase:                       int64(flightsql.SqlCaseSensitivityCaseInsensitive),
		flightsql.SqlInfoIdentifierQuoteChar:                        `"`,
		flightsql.SqlInfoNullOrdering:                               int64(flightsql.SqlNullOrderingSortAtEnd),
		flightsql.SqlInfoAllTablesAreASelectable:                    true,
		flightsql.SqlInfoSearchStringEscape:                         `\`,
		flightsql.SqlInfoExtraNameChars:                             "",
		flightsql.SqlInfoSupportsColumnAliasing:                     true,
		flightsql.SqlInfoNullPlusNullIsNull:                         true,
		flightsql.SqlInfoSupportsTableCorrelationNames:              true,
		flightsql.SqlInfoSupportsExpressionsInOrderBy:               true,
		flightsql.SqlInfoSupportsOrderByUnrelated:                   true,
		flightsql.SqlInfoSupportsLikeEscapeClause:                   true,
		flightsql.SqlInfoSupportsNonNullableColumns:                 true,
		flightsql.SqlInfoSupportsIntegrityEnhancementFacility:       false,
		flightsql.SqlInfoSchemaTerm:                                 "schema",
		flightsql.SqlInfoProcedureTerm:                              "procedure",
		flightsql.SqlInfoCatalogTerm:                                "catalog",
		flightsql.SqlInfoCatalogAtStart:                             true,
		flightsql.SqlInfoSelectForUpdateSupported:                   false,
		flightsql.SqlInfoStoredProceduresSupported:                  false,
		flightsql.SqlInfoCorrelatedSubqueriesSupported:              true,
		flightsql.SqlInfoSupportedUnions:                            int32(3), // UNION and UNION ALL
		flightsql.SqlInfoMaxStatements:                              int64(1),
		flightsql.SqlInfoMaxTablesInSelect:                          int64(0),
		flightsql.SqlInfoBatchUpdatesSupported:                      false,
		flightsql.SqlInfoSavePointsSupported:                        false,
		flightsql.SqlInfoNamedParametersSupported:                   false,
		flightsql.SqlInfoLocatorsUpdateCopy:                         false,
		flightsql.SqlInfoStoredFunctionsUsingCallSyntaxSupported:    false,
		flightsql.SqlInfoKeywords: []string{
			"ANTI", "ASOF", "ATTACH", "COLUMNS", "DESCRIBE", "EXCLUDE", "GLOB", "ILIKE", "MACRO",
			"PIVOT", "POSITIONAL", "QUALIFY", "REPLACE", "SEMI", "SUMMARIZE", "UNPIVOT",
		},
		flightsql.SqlInfoNumericFunctions:  []string{"abs", "ceil", "floor", "round", "sqrt", "ln", "log10", "pow", "sin", "cos", "pi"},
		flightsql.SqlInfoStringFunctions:   []string{"concat", "length", "lower", "upper", "trim", "substring", "replace", "regexp_matches", "starts_with"},
		flightsql.SqlInfoSystemFunctions:   []string{"current_database", "current_schema", "version"},
		flightsql.SqlInfoDateTimeFunctions: []string{"now", "current_date", "date_trunc", "date_part", "strftime", "strptime", "epoch"},
	}
}
