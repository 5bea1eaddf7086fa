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
