# xnorc: the two commands a fresh machine needs are `make demo` and `make test`.
CARGO ?= cargo
XNORC := target/release/xnorc
DEMO := build/demo
BOARD ?= icebreaker
MODEL := models/tfc_w1a1_mnist.onnx
FOLDING := models/tfc_w1a1_mnist.folding.json
IMAGES := models/mnist_test_images.npy
LABELS := models/mnist_test_labels.npy

.PHONY: setup demo test format lint bench fuzz fixtures onnx-proto onnx-proto-check clean

setup:
	@scripts/setup.sh

## First a TFC trained by xnorc itself (ReBNN's method, MNIST from the set-up) and simulated.
## Then the main job on the bundled model and default board: the trained TFC-w1a1 (FINN's
## 784-64-64-64-10 binary MLP, trained with Brevitas on MNIST, QONNX) imported, simulated on
## 300 held-out test images with its accuracy, compiled with an UP5K folding and verified under
## Verilator on those images, built into an iCEBreaker bitstream with its report, the bitstream
## itself checked against the reference, and the simulated board asked over its UART.
demo: setup
	$(CARGO) build --release --quiet
	@mkdir -p $(DEMO)
	$(XNORC) train --data datasets/mnist.npz --arch tfc --method rebnn --epochs 40 -o $(DEMO)/tfc-rebnn.xnm
	$(XNORC) simulate $(DEMO)/tfc-rebnn.xnm --input datasets/mnist.npz:x_test --labels datasets/mnist.npz:y_test
	$(XNORC) inspect $(MODEL)
	$(XNORC) simulate $(MODEL) --input $(IMAGES) --labels $(LABELS) --output $(DEMO)/outputs.npy --scores $(DEMO)/scores.npy
	$(XNORC) verify $(MODEL) --folding $(FOLDING) --input $(IMAGES)
	$(XNORC) build $(MODEL) --board $(BOARD) --folding $(FOLDING) --out $(DEMO)/$(BOARD)
	$(XNORC) report $(DEMO)/$(BOARD) --input $(IMAGES) --labels $(LABELS)
	$(XNORC) verify --bitstream $(DEMO)/$(BOARD) --vectors 4
	$(XNORC) run $(MODEL) --sim --build $(DEMO)/$(BOARD) --input $(IMAGES) --labels $(LABELS) --frames 20 --folding $(FOLDING)
	$(XNORC) flash $(DEMO)/$(BOARD) --flash --dry-run
	$(XNORC) bench --arch tfc --frames 1000000

## Every check CI runs: formatting, clippy with warnings as errors, all tests. The tests run
## under cargo-nextest (the set-up puts it in .venv), every test its own process, two at a
## time over all the test binaries; the doc tests, which nextest does not run, after them.
## The test build compiles the workspace's own crates with clippy-driver (rustc with Clippy's
## lints; Cargo's RUSTC_WORKSPACE_WRAPPER), so one compilation both lints them and builds the
## tests, where `make lint`'s `cargo clippy` checks every dependency a second time. The doc
## tests take the same settings, so they reuse that build.
NEXTEST := .venv/bin/cargo-nextest
LINTED := RUSTC_WORKSPACE_WRAPPER=clippy-driver RUSTFLAGS="-D warnings"
test: setup format
	$(LINTED) CARGO=$(CARGO) $(NEXTEST) nextest run --workspace --all-targets --no-fail-fast
	$(LINTED) $(CARGO) test --workspace --doc

format:
	$(CARGO) fmt --all -- --check

lint: format
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
	@mkdir -p fuzz/corpus/import_onnx
	cp tests/fixtures/qonnx/*.onnx tests/fixtures/qonnx/unsupported/*.onnx fuzz/corpus/import_onnx/
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run import_onnx -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096

## Regenerate compiler/src/import/onnx/proto/onnx.rs from onnx.proto beside it (prost-build with
## protox: no system protoc). The normal build uses the committed file and never runs this.
onnx-proto:
	$(CARGO) run --release --quiet --manifest-path tools/onnx-proto/Cargo.toml

## Check that the committed generated ONNX code matches onnx.proto.
onnx-proto-check:
	$(CARGO) run --release --quiet --manifest-path tools/onnx-proto/Cargo.toml -- --check

## Regenerate the malformed-model corpus (needs python3).
fixtures:
	python3 tests/fixtures/make_malformed.py

clean:
	rm -rf build target
