// A bar chart as a standalone SVG document (for `stats --svg`): one bar per category, axes with
// round tick values (or powers of ten on a log scale), the count above each bar when there is room,
// and a tooltip per bar. Browsers show it as is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace aixmalloc::cli {

struct BarChart {
  std::string title, subtitle, x_label, y_label;
  std::vector<std::string> labels;    // under each bar
  std::vector<std::string> tooltips;  // per bar; may be empty
  std::vector<uint64_t> values;
  bool log_scale = false;
};

std::string render_svg(const BarChart& chart);

std::string xml_escape(const std::string& s);

}  // namespace aixmalloc::cli
