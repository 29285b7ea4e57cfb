// The version of outpost: what `outpost --version`, GET /v1 and
// outpost_version() report. Keep it equal to project(VERSION) in
// CMakeLists.txt (the library's file name carries that one).
#pragma once

namespace outpost {

inline constexpr const char* kOutpostVersion = "0.1.0";

}  // namespace outpost
