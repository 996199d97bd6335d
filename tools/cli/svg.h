// Charts as standalone SVG documents. A bar chart (for `stats --svg`): one bar per category, axes
// with round tick values (or powers of ten on a log scale), the count above each bar when there is
// room, and a tooltip per bar. A flame graph (for `leaks --svg`, flame.cpp). Browsers show both.
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

// Stacks drawn as an icicle: the whole at the top, each frame a box under its caller, as wide as
// the bytes of the stacks through it, with a tooltip (name, bytes, share).
struct FlameGraph {
  std::string title, subtitle;
  std::vector<std::vector<std::string>> stacks;  // outermost frame first
  std::vector<uint64_t> values;                   // parallel to stacks
};

std::string render_flame_graph(const FlameGraph& graph);

std::string xml_escape(const std::string& s);

}  // namespace aixmalloc::cli
