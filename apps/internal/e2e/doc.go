// Package e2e holds the end-to-end tests of GAS on its distributed engine:
// every AWS role (web, annotator, archiver, thawer, restorer, notifier) is
// built and run as its own OS process against an AWS API server (moto,
// named by GAS_TEST_AWS_ENDPOINT; see .ci/test), and driven the way
// a browser and an operator would — sign in, upload through the presigned
// POST, download, upgrade, kill -9, SIGTERM. The package has no code of its
// own; the tests skip without GAS_TEST_AWS_ENDPOINT unless GAS_REQUIRE_AWS=1.
package e2e
