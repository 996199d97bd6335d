// The flame graph of svg.h, drawn as an icicle: one row per stack depth, the root ("all") on top,
// each frame a box under its caller, as wide as the bytes of the stacks through it. Stacks that
// share a prefix share its boxes; siblings are laid out largest first.
//
//   [ all ......................................................... ]
//   [ main ........................................ ][ worker ..... ]
//   [ parse ................ ][ load ............ ]  [ leak_b .... ]
#include <math.h>
#include <stdio.h>

#include <algorithm>
#include <map>
#include <memory>

#include "tools/cli/svg.h"

namespace aixmalloc::cli {

namespace {

constexpr double kWidth = 1200, kRow = 18, kTop = 64, kMargin = 10;
constexpr double kCharWidth = 7;  // about that of a 12-pixel sans-serif font

struct Node {
  std::string name;
  uint64_t value = 0;
  std::map<std::string, std::unique_ptr<Node>> children;
};

std::string num(double v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

// Warm colours, the same for the same name in every graph.
std::string colour(const std::string& name) {
  uint32_t h = 2166136261u;
  for (unsigned char c : name) h = (h ^ c) * 16777619u;
  char buf[16];
  snprintf(buf, sizeof(buf), "#%02x%02x%02x", 205 + h % 50, 80 + (h >> 8) % 120, 30 + (h >> 16) % 50);
  return buf;
}

std::string with_share(uint64_t v, uint64_t total) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%llu bytes, %.1f%%", static_cast<unsigned long long>(v),
           total ? 100.0 * static_cast<double>(v) / static_cast<double>(total) : 0.0);
  return buf;
}

int depth_of(const Node& n) {
  int d = 0;
  for (const auto& [name, child] : n.children) d = std::max(d, depth_of(*child));
  return d + 1;
}

void draw(const Node& n, double x, int row, double scale, uint64_t total, std::string* s) {
  const double w = static_cast<double>(n.value) * scale, y = kTop + row * kRow;
  if (w < 0.1) return;
  *s += "<g><title>" + xml_escape(n.name + " (" + with_share(n.value, total) + ")") + "</title>";
  *s += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" +
        num(kRow - 1) + "\" rx=\"2\" fill=\"" + colour(n.name) + "\"/>";
  const size_t fits = static_cast<size_t>(std::max(0.0, (w - 6) / kCharWidth));
  if (fits >= 3) {
    std::string label = n.name.size() <= fits ? n.name : n.name.substr(0, fits - 2) + "..";
    *s += "<text x=\"" + num(x + 3) + "\" y=\"" + num(y + kRow - 5) + "\">" + xml_escape(label) +
          "</text>";
  }
  *s += "</g>\n";
  std::vector<const Node*> kids;
  for (const auto& [name, child] : n.children) kids.push_back(child.get());
  std::stable_sort(kids.begin(), kids.end(), [](const Node* a, const Node* b) { return a->value > b->value; });
  for (const Node* k : kids) {
    draw(*k, x, row + 1, scale, total, s);
    x += static_cast<double>(k->value) * scale;
  }
}

}  // namespace

std::string render_flame_graph(const FlameGraph& g) {
  Node root;
  root.name = "all";
  for (size_t i = 0; i < g.stacks.size() && i < g.values.size(); ++i) {
    root.value += g.values[i];
    Node* n = &root;
    for (const std::string& frame : g.stacks[i]) {
      auto& child = n->children[frame];
      if (!child) {
        child = std::make_unique<Node>();
        child->name = frame;
      }
      child->value += g.values[i];
      n = child.get();
    }
  }
  const int rows = depth_of(root);
  const double height = kTop + rows * kRow + kMargin + 16;
  std::string s;
  s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(kWidth) + "\" height=\"" +
       num(height) + "\" viewBox=\"0 0 " + num(kWidth) + " " + num(height) +
       "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<title>" + xml_escape(g.title) + "</title>\n";
  s += "<rect x=\"0\" y=\"0\" width=\"" + num(kWidth) + "\" height=\"" + num(height) +
       "\" fill=\"#fdfdf6\"/>\n";
  s += "<text x=\"" + num(kWidth / 2) +
       "\" y=\"26\" text-anchor=\"middle\" font-size=\"18\" font-weight=\"bold\">" +
       xml_escape(g.title) + "</text>\n";
  s += "<text x=\"" + num(kWidth / 2) + "\" y=\"46\" text-anchor=\"middle\" fill=\"#555555\">" +
       xml_escape(g.subtitle) + "</text>\n";
  if (root.value == 0) {
    s += "<text x=\"" + num(kWidth / 2) + "\" y=\"" + num(kTop + 20) +
         "\" text-anchor=\"middle\" font-size=\"16\" fill=\"#777777\">no leaked bytes</text>\n";
  } else {
    s += "<g class=\"frames\">\n";
    draw(root, kMargin, 0, (kWidth - 2 * kMargin) / static_cast<double>(root.value), root.value, &s);
    s += "</g>\n";
  }
  s += "<text x=\"" + num(kMargin) + "\" y=\"" + num(height - 8) +
       "\" fill=\"#777777\" font-size=\"10\">callers above callees; hover a box for its bytes</text>\n";
  s += "</svg>\n";
  return s;
}

}  // namespace aixmalloc::cli
