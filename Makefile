# vigil: the entry points. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the tests and benchmarks need: archives (bsdtar for RAR), EWF and NTFS
# tools for the test images, hashdeep (benchmark peer), poppler (PDF text), chromium
# (review-app browser tests), PostgreSQL (shared-store tests), pango (PDF rendering),
# file-system and partition tools plus Sleuth Kit for the hostile-evidence corpus, libesedb
# (esedbexport, the independent reader the ESE tests compare with).
DEBS := libarchive13 libarchive-tools libesedb-utils ewf-tools ntfs-3g mtools hashdeep poppler-utils chromium \
	postgresql libpango-1.0-0 libpangoft2-1.0-0 \
	e2fsprogs dosfstools fdisk gdisk sleuthkit gcab p7zip-full pff-tools
# Real Outlook OST files for the PST tests (issue 14): the pst-extractor npm package's
# test data (MIT), fetched with npm by exact version and checked by SHA-256; kept out
# of the repo (its attachments are other people's pictures), see tests/real/real_files.py; only `make test-real` fetches it.
TESTDATA := .cache/testdata
PST_EXTRACTOR := pst-extractor-1.12.0.tgz
PST_EXTRACTOR_SHA256 := c4c9eb9e75d09171452a4706df7d0e0e49606c1ca04aa81f30417dd385ad0e30
# A real IE/Edge WebCacheV01.dat for the ESE tests: test data in the source distribution of
# dissect.target 3.10 on PyPI (its code is AGPL-3.0, so nothing of it enters the repo or
# the venv: the tarball is only read by tests/sources/test_expand_ese.py).
DISSECT_TARGET := dissect.target-3.10.tar.gz
DISSECT_TARGET_SHA256 := 7afc64533b92e3b5076a2b9d132c0e04c33def7ceb4d9141171fe37d7b17402b

.PHONY: demo test test-real lint bench examples sysdeps testdata clean

# gcc and the Python headers build the compiled PDQ search at install (setup.py).
DEBS += gcc python3-dev

# setup.py compiles the PDQ search (src/vigil/matching/_pdq_search.c): a change rebuilds it.
$(STAMP): pyproject.toml constraints.txt setup.py src/vigil/matching/_pdq_search.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

sysdeps:
	@missing=""; for pkg in $(DEBS); do \
	  dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

testdata: $(TESTDATA)/$(PST_EXTRACTOR)

$(TESTDATA)/$(PST_EXTRACTOR):
	@command -v npm >/dev/null || { if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm; }
	mkdir -p $(TESTDATA)
	cd $(TESTDATA) && npm pack --silent pst-extractor@1.12.0 >/dev/null
	echo "$(PST_EXTRACTOR_SHA256)  $@" | sha256sum -c --quiet || { rm -f $@; exit 1; }

$(TESTDATA)/$(DISSECT_TARGET): $(STAMP)
	mkdir -p $(TESTDATA)
	$(BIN)/pip download --quiet --no-deps --no-binary :all: -d $(TESTDATA) dissect.target==3.10
	echo "$(DISSECT_TARGET_SHA256)  $@" | sha256sum -c --quiet || { rm -f $@; exit 1; }

demo: $(STAMP)
	$(BIN)/vigil demo --out demo-output

test: $(STAMP) sysdeps $(TESTDATA)/$(DISSECT_TARGET)
	$(BIN)/pytest -q

# Real Outlook files from npm (not PyPI or Debian, so not part of `make test` or CI).
test-real: $(STAMP) sysdeps testdata
	$(BIN)/pytest -q tests/real

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

# About 5 minutes once the corpora are cached in /tmp (building them first: ~10 minutes).
# Heavier runs, by hand: benchmarks/pdq_index.py --bank 10000000 (8 min, 1.5 GB) and
# benchmarks/scale.py --memory-gb 20 (20 GiB in /tmp; delete it afterwards).
bench: $(STAMP) sysdeps
	$(BIN)/python benchmarks/crypto_throughput.py
	$(BIN)/python benchmarks/vics_import_memory.py
	$(BIN)/python benchmarks/pdq.py
	$(BIN)/python benchmarks/pdq.py --no-speed --drift 1000
	$(BIN)/python benchmarks/pdq_index.py --bank 1000000
	$(BIN)/python benchmarks/e01_scan.py --workers 2
	$(BIN)/python benchmarks/video_throughput.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/review_keys.py
	$(BIN)/python benchmarks/store_proof.py
	$(BIN)/python benchmarks/borders.py
	$(BIN)/python benchmarks/archives.py --pictures 10000 --large 50
	$(BIN)/python benchmarks/bombs.py
	$(BIN)/python benchmarks/pdf_digits.py
	$(BIN)/python benchmarks/hostile_scan.py
	$(BIN)/python benchmarks/recall.py
	$(BIN)/python benchmarks/recall.py --case 50
	$(BIN)/python benchmarks/login_flood.py
	$(BIN)/python benchmarks/tile_information.py
	$(BIN)/python benchmarks/pictures_found.py
	$(BIN)/python benchmarks/pictures_found.py --pagefile 2
	$(BIN)/python benchmarks/series.py
	$(BIN)/python benchmarks/classify.py

examples: $(STAMP)
	$(BIN)/python docs/examples/make_examples.py

clean:
	rm -rf $(VENV) demo-output
