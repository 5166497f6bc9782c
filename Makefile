# fhirbell — see README.md. `make help` lists the targets.
GO        ?= go
PKGS      ?= ./...
FUZZTIME  ?= 15s

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

.PHONY: run
run: ## run the server on 127.0.0.1:8080 (in-memory store unless FHIRBELL_DATABASE_URL is set)
	$(GO) run ./cmd/fhirbell serve

.PHONY: build
build: ## build bin/fhirbell
	$(GO) build -o bin/fhirbell ./cmd/fhirbell

.PHONY: test
test: ## run every test with -race, the Postgres suite included (scripts/ensure-postgres.sh; FHIRBELL_SETUP_POSTGRES=1 may install it)
	@url="$${FHIRBELL_TEST_DATABASE_URL:-$$(scripts/ensure-postgres.sh)}" && \
	FHIRBELL_TEST_DATABASE_URL="$$url" FHIRBELL_REQUIRE_POSTGRES=1 $(GO) test -race -count=1 $(PKGS)

.PHONY: test-mem
test-mem: ## run every test with -race on the in-memory store only (Postgres tests skip)
	FHIRBELL_TEST_DATABASE_URL= $(GO) test -race -count=1 $(PKGS)

.PHONY: lint
lint: ## go vet, staticcheck, and go.mod/go.sum as go mod tidy leaves them
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)
	@$(GO) mod tidy -diff || { echo "lint: go.mod or go.sum is not tidy; run go mod tidy" >&2; exit 1; }

.PHONY: fmt
fmt: ## gofmt every file
	gofmt -s -w .

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME
	@for pkg in $$($(GO) list $(PKGS)); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

.PHONY: bench
bench: ## run the Go micro-benchmarks
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

.PHONY: medplum
medplum: ## rebuild the committed Medplum test clients (cmd/fhirbell/testdata/medplum/dist) from the lockfile
	cd cmd/fhirbell/testdata/medplum && npm ci --no-audit --no-fund && npm run build

.PHONY: generate
generate: ## regenerate the embedded tables from the HL7 R4 definitions in testdata/fhir-r4
	$(GO) generate ./...
