# xnorc: the two commands a fresh machine needs are `make demo` and `make test`.
CARGO ?= cargo
XNORC := target/release/xnorc
DEMO := build/demo
BOARD ?= icebreaker
FOLDING := tests/fixtures/folding/tfc_up5k.json

.PHONY: setup demo test lint bench fuzz fixtures clean

setup:
	@scripts/setup.sh

## The main job on the bundled model and default board. Today: a TFC-shaped binary MLP
## (FINN's TFC-w1a1 shape, random weights until the bundled trained model lands): inspected,
## simulated bit-exactly on 100,000 frames, compiled with an UP5K folding and verified under
## Verilator, built into an iCEBreaker bitstream with its report, the bitstream itself checked
## against the reference, and the simulated board asked over its UART.
demo: setup
	$(CARGO) build --release --quiet
	@mkdir -p $(DEMO)
	$(XNORC) random-model --arch tfc --seed 1 -o $(DEMO)/tfc.xnm
	$(XNORC) inspect $(DEMO)/tfc.xnm
	$(XNORC) random-input $(DEMO)/tfc.xnm -n 100000 --seed 2 -o $(DEMO)/frames.npy
	$(XNORC) simulate $(DEMO)/tfc.xnm --input $(DEMO)/frames.npy --output $(DEMO)/scores.npy
	$(XNORC) verify $(DEMO)/tfc.xnm --folding $(FOLDING) --vectors 500
	$(XNORC) build $(DEMO)/tfc.xnm --board $(BOARD) --folding $(FOLDING) --out $(DEMO)/$(BOARD)
	$(XNORC) verify --bitstream $(DEMO)/$(BOARD) --vectors 4
	$(XNORC) random-input $(DEMO)/tfc.xnm -n 20 --seed 3 -o $(DEMO)/uart_frames.npy
	$(XNORC) run $(DEMO)/tfc.xnm --sim --input $(DEMO)/uart_frames.npy --folding $(FOLDING)
	$(XNORC) flash $(DEMO)/$(BOARD) --flash --dry-run
	$(XNORC) bench --arch tfc --frames 1000000

## Every check CI runs: formatting, clippy with warnings as errors, all tests.
test: setup lint
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --quiet -- -D warnings

## Simulator throughput figures for docs/benchmarks.md.
bench: setup
	$(CARGO) build --release --quiet
	$(XNORC) bench --arch tfc --frames 2000000
	$(XNORC) bench --arch tfc-u8 --frames 500000
	$(XNORC) bench --arch cnv-small --frames 20000
	$(XNORC) bench --arch cnv --frames 500 --repeats 1

## Fuzz the model loader for FUZZ_SECONDS (needs cargo-fuzz; see fuzz/README.md).
FUZZ_SECONDS ?= 60
fuzz:
	@mkdir -p fuzz/corpus/load_model
	cp tests/fixtures/*.xnm tests/fixtures/malformed/*.xnm fuzz/corpus/load_model/
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run load_model -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096

## Regenerate the malformed-model corpus (needs python3).
fixtures:
	python3 tests/fixtures/make_malformed.py

clean:
	rm -rf build target
