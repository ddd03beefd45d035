# Shared build recipe for the signalfire Lambda functions.
#
# Every function in template.yaml has `Metadata: BuildMethod: makefile`, so
# `sam build` runs, for each one:
#
#     make --makefile <repo>/functions/<name>/Makefile build-<LogicalId>
#
# with ARTIFACTS_DIR set and the working directory set to a scratch copy of
# functions/<name>/ (CodeUri).  The functions have no third-party requirements
# of their own (everything lives in SharedLayer), so a build is just a copy of
# the function's Python sources.  No Python interpreter matching the Lambda
# runtime (python3.13) and no Docker are needed, unlike SAM's default
# python_pip builder.
#
# A function's Makefile is two lines:
#
#     include $(dir $(lastword $(MAKEFILE_LIST)))../build.mk
#     build-IngestFunction: build-function
#
# NOTE: sam build's cache (--cached) hashes only CodeUri, so after editing this
# file run `sam build --no-cached` once.

# Module named by the Handler (app.lambda_handler); the build fails without it.
HANDLER_MODULE ?= app.py
LAMBDA_PYTHON ?= 3.13
BUILD_MK_DIR := $(dir $(lastword $(MAKEFILE_LIST)))

.PHONY: build-function
build-function:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set: run this through 'sam build'" >&2; exit 1; }
	@test -f "$(HANDLER_MODULE)" || { echo "$(CURDIR): no $(HANDLER_MODULE) (the Handler's module) to build" >&2; exit 1; }
	mkdir -p "$(ARTIFACTS_DIR)"
	find . -type f -name '*.py' ! -path '*/__pycache__/*' ! -path './tests/*' -print \
		| tar -cf - -T - | tar -xf - -C "$(ARTIFACTS_DIR)"
	sh "$(BUILD_MK_DIR)../scripts/compile-bytecode.sh" "$(ARTIFACTS_DIR)" $(LAMBDA_PYTHON)
