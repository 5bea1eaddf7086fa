#include "traceframe/json.h"

#include <string>

#include "gtest/gtest.h"

namespace traceframe {
namespace {

TEST(JsonStringTest, EscapesOnlyWhatJsonRequires) {
  EXPECT_EQ(JsonString("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(JsonString("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
  EXPECT_EQ(JsonString(std::string("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
  EXPECT_EQ(JsonString(std::string("nul\0x", 5)), "\"nul\\u0000x\"");
  // Like the earlier tool: DEL, '/', '<', '>', '&' and non-ASCII stay raw.
  EXPECT_EQ(JsonString("\x7f/<>&\xC3\xA9\xE2\x80\xA8"), "\"\x7f/<>&\xC3\xA9\xE2\x80\xA8\"");
}

TEST(JsonStringTest, ReplacesInvalidUtf8SoOutputIsValidJson) {
  const std::string out = JsonString("ok\xFF\xC3(end");
  EXPECT_EQ(out, "\"ok\xEF\xBF\xBD\xEF\xBF\xBD(end\"");
  EXPECT_TRUE(ValidateJson(out).ok());
}

// AppendJsonString skips plain text 8 bytes at a time; every special byte at
// every offset of long strings must still be escaped exactly as the byte loop
// does (checked against a plain per-byte escaper on valid UTF-8).
std::string SlowEscape(const std::string& s) {
  static const char kHexDigits[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHexDigits[c >> 4];
          out += kHexDigits[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

TEST(JsonStringTest, WordAtATimeScanMissesNoSpecialByte) {
  const std::string specials = std::string("\"\\\x00\x01\x1f\n\t", 7) + "\x7f";
  for (size_t len : {7, 8, 9, 15, 16, 17, 40}) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (char special : specials) {
        std::string text(len, 'a');
        text[pos] = special;
        ASSERT_EQ(JsonString(text), SlowEscape(text)) << "len " << len << " pos " << pos;
      }
      // Multibyte characters next to a special byte.
      std::string text(len, 'b');
      text.replace(pos, 1, "\xC3\xA9\x1f");
      ASSERT_EQ(JsonString(text), SlowEscape(text));
    }
  }
  // Every ASCII byte, twice, in one string.
  std::string all;
  for (int c = 0; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  all += all;
  EXPECT_EQ(JsonString(all), SlowEscape(all));
}

// UTF-8 is validated lazily, at the first byte >= 0x80: an invalid byte
// after valid multibyte text, anywhere in a long string (SIMD, word and byte
// paths), is still replaced, and valid text around it is kept.
TEST(JsonStringTest, InvalidUtf8AfterValidTextIsReplacedAtEveryOffset) {
  for (size_t pos = 0; pos < 48; ++pos) {
    std::string text;
    while (text.size() < 48) text += "\xC3\xA9";  // é
    text[pos] = '\xFF';
    const std::string out = JsonString(text);
    ASSERT_TRUE(ValidateJson(out).ok()) << "pos " << pos;
    EXPECT_NE(out.find("\xEF\xBF\xBD"), std::string::npos) << "pos " << pos;
    EXPECT_NE(out.find("\xC3\xA9"), std::string::npos) << "pos " << pos;
  }
  // Pure valid non-ASCII text passes through unchanged.
  std::string text;
  for (int i = 0; i < 30; ++i) text += "\xE2\x82\xAC";  // €
  EXPECT_EQ(JsonString(text), "\"" + text + "\"");
}

TEST(JsonTest, SanitizeUtf8KeepsValidInput) {
  EXPECT_EQ(SanitizeUtf8("h\xC3\xA9llo"), "h\xC3\xA9llo");
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

TEST(JsonTest, TruncateCountsCharactersNotBytes) {
  bool truncated = false;
  std::string e_acute;
  for (int i = 0; i < 10; ++i) e_acute += "\xC3\xA9";
  EXPECT_EQ(TruncateUtf8Chars(e_acute, 4, &truncated), "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9");
  EXPECT_TRUE(truncated);
  EXPECT_EQ(TruncateUtf8Chars(e_acute, 10, &truncated), e_acute);
  EXPECT_FALSE(truncated);
  EXPECT_EQ(TruncateUtf8Chars("", 3, &truncated), "");
  EXPECT_FALSE(truncated);
}

TEST(JsonTest, CanonicalizeMinifiesAndKeepsKeyOrder) {
  auto out = CanonicalizeJson(" { \"z\" : 1 , \"a\" : [ true , null , \"x y\" ] } ");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "{\"z\":1,\"a\":[true,null,\"x y\"]}");
  auto scalar = CanonicalizeJson("  42 ");
  ASSERT_TRUE(scalar.ok());
  EXPECT_EQ(*scalar, "42");
  // Numbers are kept as written, not re-formatted.
  EXPECT_EQ(*CanonicalizeJson("[1.50,1e3,-0]"), "[1.50,1e3,-0]");
}

TEST(JsonTest, CanonicalizeRejectsInvalidJson) {
  EXPECT_FALSE(CanonicalizeJson("{bad").ok());
  EXPECT_FALSE(CanonicalizeJson("{\"a\":tru}").ok());
  EXPECT_FALSE(CanonicalizeJson("").ok());
  EXPECT_FALSE(CanonicalizeJson("{\"a\":1} {\"b\":2}").ok());
  EXPECT_FALSE(CanonicalizeJson("\"\xFF\"").ok());
  const std::string deep(200000, '[');
  auto status = CanonicalizeJson(deep + std::string(200000, ']'));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(std::string(status.status().message()).find("nesting"), std::string::npos);
}

TEST(JsonObjectWriterTest, WritesCompactObject) {
  std::string out;
  JsonObjectWriter w(&out);
  w.String("s", "x\"y").Int("i", -3).Uint("u", 18446744073709551615ull).Bool("b", false);
  w.Null("n").Raw("r", "[1]");
  w.Finish();
  EXPECT_EQ(out,
            "{\"s\":\"x\\\"y\",\"i\":-3,\"u\":18446744073709551615,\"b\":false,\"n\":null,"
            "\"r\":[1]}");
  EXPECT_TRUE(ValidateJson(out).ok());
}

}  // namespace
}  // namespace traceframe
