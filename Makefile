# Every build and test needs DuckDB's Arrow interface.
export GOFLAGS := -tags=duckdb_arrow
K8S_VERSION ?= 1.34.0
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: demo build test lint-deploy sample clean

## demo: build qry and query the bundled sample data
demo:
	go run ./cmd/qry query --data testdata/sample \
	  "SELECT z.name AS zone, z.borough, count(*) AS trips, round(avg(t.fare), 2) AS avg_fare, round(sum(t.tip), 2) AS tips \
	   FROM trips t JOIN zones z USING (zone_id) WHERE t.year = 2024 GROUP BY ALL ORDER BY trips DESC LIMIT 8"

## build: bin/qry, stripped, with version info (qry version)
build:
	go build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o bin/qry ./cmd/qry

## test: everything CI runs (lint, Go tests, Python client tests)
test:
	bash scripts/test.sh

## lint-deploy: validate the Kubernetes manifests against the API schemas
lint-deploy:
	bash scripts/venv.sh
	.venv/bin/kubernetes-validate --strict --quiet -k $(K8S_VERSION) $(filter-out %kustomization.yaml,$(wildcard deploy/kubernetes/*.yaml))

## sample: regenerate testdata/sample
sample:
	go run ./testdata/gensample testdata/sample

clean:
	rm -rf bin .venv .cache
