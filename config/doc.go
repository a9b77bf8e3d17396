// Package config reads qry.yaml, the one configuration file of qry: the
// catalog's tables and data directories, and the settings of the server,
// its limits and its logs. Every setting is also a command-line flag (and a
// QRY_* environment variable); a Setting names its flag, and cmd/qry applies
// the file's settings to flags not given on the command line.
//
//	tables:
//	  - {name: trips, path: data/trips}
//	data: [more/]
//	cache_dir: /var/cache/qry
//	server:
//	  listen: 0.0.0.0:31337     # Flight SQL
//	  http: 0.0.0.0:8080        # health, metrics, HTTP queries
//	  refresh: 10s
//	  tokens: /etc/qry/tokens   # name:token lines
//	  tls: {cert: server.pem, key: server.key, client_ca: clients.pem}
//	limits:
//	  query_timeout: 10m
//	  max_concurrent: 8
//	  memory_limit: 4GB
//	log:
//	  format: json              # auto | text | json
//	  level: info
//	  sql: false                # log full statement text, not just its hash
//
// Unknown keys are errors, and every error names its line: the file is
// read into YAML nodes (go.yaml.in/yaml/v3) and checked against the
// layout's Go types node by node, so each problem comes with the line of
// its node, all of them at once.
package config
