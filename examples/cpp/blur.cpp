// blur: a box blur of a generated picture, in parallel, checked against the
// same blur done serially.
//
//   blur [OUT.ppm] [WIDTH HEIGHT RADIUS]     defaults: no file, 1920 1080 8
//
// The picture is an RGB gradient with deterministic noise. Each pass (rows,
// then columns) is a parallel_for over lines; every output pixel depends only
// on the input, so the parallel result must equal the serial one byte for byte.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "taskengine.hpp"

namespace {

struct Image {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // row-major, 3 bytes per pixel

  Image(int w, int h) : width(w), height(h), rgb(static_cast<std::size_t>(w) * h * 3) {}
  std::uint8_t *pixel(int x, int y) { return &rgb[(static_cast<std::size_t>(y) * width + x) * 3]; }
  const std::uint8_t *pixel(int x, int y) const { return &rgb[(static_cast<std::size_t>(y) * width + x) * 3]; }
};

Image generate(int width, int height) {
  Image img(width, height);
  std::uint32_t state = 2463534242u;  // xorshift32
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      std::uint8_t *p = img.pixel(x, y);
      p[0] = static_cast<std::uint8_t>(255 * x / (width - 1) / 2 + (state & 0x7f));
      p[1] = static_cast<std::uint8_t>(255 * y / (height - 1) / 2 + ((state >> 8) & 0x7f));
      p[2] = static_cast<std::uint8_t>((state >> 16) & 0xff);
    }
  }
  return img;
}

// One line of a box blur: averages 2*radius+1 neighbours along the line,
// clamping at the edges. `at(i)` addresses element i of the line.
template <class In, class Out>
void blur_line(int n, int radius, In in, Out out) {
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < n; ++i) {
      unsigned sum = 0;
      for (int k = -radius; k <= radius; ++k) {
        int j = i + k < 0 ? 0 : (i + k >= n ? n - 1 : i + k);
        sum += in(j)[c];
      }
      out(i)[c] = static_cast<std::uint8_t>((sum + radius) / (2 * radius + 1));
    }
  }
}

void blur_row(const Image &src, Image &dst, int y, int radius) {
  blur_line(
      src.width, radius, [&](int x) { return src.pixel(x, y); }, [&](int x) { return dst.pixel(x, y); });
}

void blur_column(const Image &src, Image &dst, int x, int radius) {
  blur_line(
      src.height, radius, [&](int y) { return src.pixel(x, y); }, [&](int y) { return dst.pixel(x, y); });
}

Image blur_serial(const Image &img, int radius) {
  Image tmp(img.width, img.height), out(img.width, img.height);
  for (int y = 0; y < img.height; ++y) blur_row(img, tmp, y, radius);
  for (int x = 0; x < img.width; ++x) blur_column(tmp, out, x, radius);
  return out;
}

Image blur_parallel(taskengine::Engine &engine, const Image &img, int radius) {
  Image tmp(img.width, img.height), out(img.width, img.height);
  engine.parallel_for(0, static_cast<std::size_t>(img.height),
                      [&](std::size_t y) { blur_row(img, tmp, static_cast<int>(y), radius); });
  engine.parallel_for(0, static_cast<std::size_t>(img.width),
                      [&](std::size_t x) { blur_column(tmp, out, static_cast<int>(x), radius); });
  return out;
}

void write_ppm(const Image &img, const std::string &path) {
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot open " + path);
  std::fprintf(f, "P6\n%d %d\n255\n", img.width, img.height);
  bool ok = std::fwrite(img.rgb.data(), 1, img.rgb.size(), f) == img.rgb.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok) throw std::runtime_error("cannot write " + path);
}

template <class F>
double millis(F &&f) {
  auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char **argv) {
  try {
    std::string out_path = argc > 1 ? argv[1] : "";
    int width = argc > 4 ? std::atoi(argv[2]) : 1920;
    int height = argc > 4 ? std::atoi(argv[3]) : 1080;
    int radius = argc > 4 ? std::atoi(argv[4]) : 8;
    if (width < 2 || height < 2 || radius < 0) {
      std::fprintf(stderr, "usage: %s [OUT.ppm] [WIDTH HEIGHT RADIUS]\n", argv[0]);
      return 2;
    }
    taskengine::Engine engine;
    Image img = generate(width, height);
    Image serial(1, 1), parallel(1, 1);
    double t_serial = millis([&] { serial = blur_serial(img, radius); });
    double t_parallel = millis([&] { parallel = blur_parallel(engine, img, radius); });
    bool same = serial.rgb == parallel.rgb;
    std::printf("blur %dx%d radius %d: serial %.1f ms, %u workers %.1f ms (%.2fx), identical: %s\n", width, height,
                radius, t_serial, engine.workers(), t_parallel, t_serial / t_parallel, same ? "yes" : "NO");
    if (!out_path.empty()) write_ppm(parallel, out_path);
    return same ? 0 : 1;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "blur: %s\n", e.what());
    return 1;
  }
}
