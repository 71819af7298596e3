#ifndef EVALUATECODE_TESTS_TESTING_METRICS_SCRAPE_H_
#define EVALUATECODE_TESTS_TESTING_METRICS_SCRAPE_H_

#include <string>

namespace evaluatecode::testing {

// GETs http://127.0.0.1:<port>/metrics with libcurl, as a Prometheus scraper does, and returns the
// body. A transport error or a status other than 200 fails the current test (the body is then
// whatever arrived).
std::string ScrapeMetrics(int port);

// The value of the sample `series` (name plus labels exactly as exposed, labels sorted by name),
// or -1 when the exposition has no such series.
double SampleValue(const std::string& exposition, const std::string& series);

}  // namespace evaluatecode::testing

#endif  // EVALUATECODE_TESTS_TESTING_METRICS_SCRAPE_H_
