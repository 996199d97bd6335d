// The SVG bar chart of svg.h. Geometry: a fixed 960x540 canvas; the plot area leaves room for the
// title on top, the y-axis numbers on the left and (possibly rotated) category labels below.
//
//   +--------------------------------------------+
//   | title / subtitle                           |
//   |  y  |   #                                  |
//   | tick|   #  #                               |
//   |     |   #  #  #     #                      |
//   |     +----------------------------------    |
//   |        l1 l2 l3 ...   (x label)            |
//   +--------------------------------------------+
#include "tools/cli/svg.h"

#include <math.h>
#include <stdio.h>

#include <algorithm>

#include "tools/cli/json.h"

namespace aixmalloc::cli {

namespace {

constexpr double kWidth = 960, kHeight = 540;
constexpr double kLeft = 90, kRight = 30, kTop = 70, kBottom = 110;

std::string fmt(const char* f, double v) {
  char buf[64];
  snprintf(buf, sizeof(buf), f, v);
  return buf;
}

std::string num(double v) {
  return fmt("%.1f", v);
}

// A round step (1, 2 or 5 times a power of ten) giving about five ticks up to `max`.
double nice_step(double max) {
  double raw = max / 5;
  double power = pow(10, floor(log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * power) return m * power;
  return 10 * power;
}

std::string tick_text(double v) {
  if (v >= 1e9) return fmt("%gG", v / 1e9);
  if (v >= 1e6) return fmt("%gM", v / 1e6);
  if (v >= 1e4) return fmt("%gk", v / 1e3);
  return fmt("%g", v);
}

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out, s = utf8_sanitized(text);  // an XML document must be well-formed UTF-8
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 allows no control characters but tab, newline and carriage return.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r')
          out += '?';
        else
          out += c;
    }
  }
  return out;
}

std::string render_svg(const BarChart& chart) {
  const size_t n = chart.values.size();
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  const double base_y = kTop + plot_h;
  uint64_t max_value = n ? *std::max_element(chart.values.begin(), chart.values.end()) : 0;

  // The axis top and the height of a value.
  double axis_max;
  if (chart.log_scale) {
    axis_max = std::max(1.0, ceil(log10(static_cast<double>(max_value) + 1)));  // in decades
  } else {
    double step = max_value ? nice_step(static_cast<double>(max_value)) : 1;
    axis_max = std::max(step, ceil(static_cast<double>(max_value) / step) * step);
  }
  auto height = [&](uint64_t v) {
    double scaled = chart.log_scale ? log10(static_cast<double>(v) + 1) : static_cast<double>(v);
    return plot_h * scaled / axis_max;
  };

  std::string s;
  s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(kWidth) + "\" height=\"" +
       num(kHeight) + "\" viewBox=\"0 0 " + num(kWidth) + " " + num(kHeight) +
       "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<title>" + xml_escape(chart.title) + "</title>\n";
  s += "<rect x=\"0\" y=\"0\" width=\"" + num(kWidth) + "\" height=\"" + num(kHeight) +
       "\" fill=\"#ffffff\"/>\n";
  s += "<text x=\"" + num(kWidth / 2) +
       "\" y=\"28\" text-anchor=\"middle\" font-size=\"18\" font-weight=\"bold\">" +
       xml_escape(chart.title) + "</text>\n";
  s += "<text x=\"" + num(kWidth / 2) + "\" y=\"50\" text-anchor=\"middle\" fill=\"#555555\">" +
       xml_escape(chart.subtitle) + "</text>\n";

  // Grid lines and y-axis numbers.
  s += "<g class=\"y-axis\" fill=\"#333333\">\n";
  if (chart.log_scale) {
    for (int d = 0; d <= static_cast<int>(axis_max); ++d) {
      double y = base_y - plot_h * d / axis_max;
      s += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(y) + "\" x2=\"" + num(kLeft + plot_w) +
           "\" y2=\"" + num(y) + "\" stroke=\"#dddddd\"/>\n";
      s += "<text x=\"" + num(kLeft - 8) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\">" +
           tick_text(d == 0 ? 0 : pow(10, d)) + "</text>\n";
    }
  } else {
    double step = max_value ? nice_step(static_cast<double>(max_value)) : 1;
    for (double v = 0; v <= axis_max + step / 2; v += step) {
      double y = base_y - plot_h * v / axis_max;
      s += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(y) + "\" x2=\"" + num(kLeft + plot_w) +
           "\" y2=\"" + num(y) + "\" stroke=\"#dddddd\"/>\n";
      s += "<text x=\"" + num(kLeft - 8) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\">" +
           tick_text(v) + "</text>\n";
    }
  }
  s += "</g>\n";

  // Bars, their counts, their labels.
  double slot = n ? plot_w / static_cast<double>(n) : plot_w;
  double bar_w = std::max(1.0, slot * 0.8);
  bool rotate = n > 16;
  size_t label_every = n > 64 ? (n + 31) / 32 : 1;
  s += "<g class=\"bars\">\n";
  for (size_t i = 0; i < n; ++i) {
    double h = height(chart.values[i]);
    double x = kLeft + slot * static_cast<double>(i) + (slot - bar_w) / 2;
    s += "<rect class=\"bar\" x=\"" + num(x) + "\" y=\"" + num(base_y - h) + "\" width=\"" +
         num(bar_w) + "\" height=\"" + num(h) + "\" fill=\"#4e79a7\">";
    std::string tip = i < chart.tooltips.size() ? chart.tooltips[i] : chart.labels[i];
    s += "<title>" + xml_escape(tip) + "</title></rect>\n";
    if (n <= 32 && chart.values[i] > 0)
      s += "<text x=\"" + num(x + bar_w / 2) + "\" y=\"" + num(base_y - h - 4) +
           "\" text-anchor=\"middle\" font-size=\"10\" fill=\"#333333\">" +
           std::to_string(chart.values[i]) + "</text>\n";
    if (i % label_every != 0) continue;
    double lx = x + bar_w / 2, ly = base_y + 16;
    if (rotate)
      s += "<text x=\"" + num(lx) + "\" y=\"" + num(ly) +
           "\" text-anchor=\"end\" transform=\"rotate(-45 " + num(lx) + " " + num(ly) + ")\">" +
           xml_escape(chart.labels[i]) + "</text>\n";
    else
      s += "<text x=\"" + num(lx) + "\" y=\"" + num(ly) + "\" text-anchor=\"middle\">" +
           xml_escape(chart.labels[i]) + "</text>\n";
  }
  s += "</g>\n";

  if (max_value == 0)
    s += "<text x=\"" + num(kLeft + plot_w / 2) + "\" y=\"" + num(kTop + plot_h / 2) +
         "\" text-anchor=\"middle\" font-size=\"16\" fill=\"#777777\">every count is 0</text>\n";

  // Axes and their names.
  s += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(kTop) + "\" x2=\"" + num(kLeft) + "\" y2=\"" +
       num(base_y) + "\" stroke=\"#333333\"/>\n";
  s += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(base_y) + "\" x2=\"" + num(kLeft + plot_w) +
       "\" y2=\"" + num(base_y) + "\" stroke=\"#333333\"/>\n";
  s += "<text x=\"" + num(kLeft + plot_w / 2) + "\" y=\"" +
       num(base_y + (rotate ? kBottom - 12 : 48)) + "\" text-anchor=\"middle\">" +
       xml_escape(chart.x_label) + "</text>\n";
  s += "<text x=\"20\" y=\"" + num(kTop + plot_h / 2) +
       "\" text-anchor=\"middle\" transform=\"rotate(-90 20 " + num(kTop + plot_h / 2) + ")\">" +
       xml_escape(chart.y_label + (chart.log_scale ? " (log scale)" : "")) + "</text>\n";
  s += "</svg>\n";
  return s;
}

}  // namespace aixmalloc::cli
