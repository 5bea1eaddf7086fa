// The statistics of `stats` / `compare` against values computed
// independently: published tables where they exist (Newcombe 1998a/b,
// Wikipedia's nearest-rank example), otherwise a separate Python
// implementation of the textbook formula using exact integer binomials
// (math.comb), whose output is hard-coded here with its derivation.
#include "stats/statistics.h"

#include <vector>

#include "gtest/gtest.h"

namespace traceframe::internal {
namespace {

constexpr double kTol = 1e-9;

void ExpectInterval(std::optional<Interval> got, double lo, double hi) {
  ASSERT_TRUE(got.has_value());
  EXPECT_NEAR(got->lo, lo, kTol);
  EXPECT_NEAR(got->hi, hi, kTol);
}

TEST(WilsonInterval, MatchesNewcombeTableOne) {
  // Newcombe (1998a) Table I, method 3 (Wilson): 81/263 -> 0.2553, 0.3662;
  // 15/148 -> 0.0624, 0.1605; 0/20 -> 0, 0.1611; 1/29 -> 0.0061, 0.1718.
  // Ten digits from Python: p=s/n; d=1+z^2/n; c=(p+z^2/2n)/d;
  // h=z/d*sqrt(p(1-p)/n+z^2/4n^2), z=1.959963984540054.
  ExpectInterval(WilsonInterval(81, 263), 0.2552885199, 0.3662095770);
  ExpectInterval(WilsonInterval(15, 148), 0.0623863995, 0.1604872417);
  ExpectInterval(WilsonInterval(0, 20), 0.0, 0.1611251581);
  ExpectInterval(WilsonInterval(1, 29), 0.0061132143, 0.1717552188);
}

TEST(WilsonInterval, EdgeCases) {
  EXPECT_FALSE(WilsonInterval(0, 0).has_value());             // 0/0: no interval
  ExpectInterval(WilsonInterval(29, 29), 0.8830302015, 1.0);  // all success
  ExpectInterval(WilsonInterval(1, 1), 0.2065493144, 1.0);    // one run, success
  ExpectInterval(WilsonInterval(0, 1), 0.0, 0.7934506856);    // one run, failure
  ExpectInterval(WilsonInterval(30, 40), 0.5980603858, 0.8581288136);
  ExpectInterval(WilsonInterval(36, 40), 0.7694822477, 0.9604204713);
}

TEST(NewcombeDifference, MatchesPublishedExamples) {
  // Newcombe (1998b, independent) method 10 for p1 - p2; our argument order
  // is (a, b) for p_b - p_a: 56/70 - 48/80 -> 0.0524, 0.3339;
  // 9/10 - 3/10 -> 0.1705, 0.8090; 6/7 - 2/7 -> 0.0582, 0.8062;
  // 5/56 - 0/29 -> -0.0381, 0.1926 (digits from the Python formula
  // d -/+ sqrt((p1-l1)^2+(u2-p2)^2) / sqrt((u1-p1)^2+(p2-l2)^2)).
  ExpectInterval(NewcombeDifference(48, 80, 56, 70), 0.0524314724, 0.3338726540);
  ExpectInterval(NewcombeDifference(3, 10, 9, 10), 0.1705227239, 0.8090179735);
  ExpectInterval(NewcombeDifference(2, 7, 6, 7), 0.0582279275, 0.8062496375);
  ExpectInterval(NewcombeDifference(0, 29, 5, 56), -0.0381371479, 0.1925600139);
}

TEST(NewcombeDifference, EdgeCases) {
  EXPECT_FALSE(NewcombeDifference(0, 0, 3, 4).has_value());
  EXPECT_FALSE(NewcombeDifference(3, 4, 0, 0).has_value());
  ExpectInterval(NewcombeDifference(0, 20, 0, 10), -0.1611251581, 0.2775327999);  // no successes
  ExpectInterval(NewcombeDifference(0, 20, 10, 10), 0.6790860371, 1.0);           // 0% -> 100%
  ExpectInterval(NewcombeDifference(30, 40, 36, 40), -0.0194895985, 0.3135123228);
}

TEST(NewcombePairedDifference, UsesTheCorrelation) {
  // Python: theta=pB-pA; Wilson limits of each margin; phi=(e*h-f*g)/
  // sqrt(margins) (0 when a margin is empty); L=theta-sqrt((pB-lB)^2
  // -2phi(pB-lB)(uA-pA)+(uA-pA)^2), U likewise (Newcombe 1998b method 10).
  // Cells: both, a only (broke), b only (fixed), neither.
  ExpectInterval(NewcombePairedDifference(25, 3, 9, 3), -0.0169447381, 0.3100604427);
  ExpectInterval(NewcombePairedDifference(8, 4, 5, 21), -0.1250758123, 0.1760492497);
  // phi = 0 here (27*1 == 3*9): same as the independent interval of 36/40 vs 30/40.
  ExpectInterval(NewcombePairedDifference(27, 3, 9, 1), -0.0194895985, 0.3135123228);
  // All concordant: phi is 0 (empty margin), the interval is the Wilson half-widths.
  ExpectInterval(NewcombePairedDifference(10, 0, 0, 0), -0.2775327999, 0.2775327999);
  EXPECT_FALSE(NewcombePairedDifference(0, 0, 0, 0).has_value());
}

TEST(McNemarExactP, SmallAndZeroDiscordantCounts) {
  // Python: min(1, 2*sum(comb(b+c, i) for i <= min(b,c)) / 2**(b+c)).
  EXPECT_DOUBLE_EQ(McNemarExactP(0, 0), 1.0);         // no discordant pairs
  EXPECT_DOUBLE_EQ(McNemarExactP(0, 1), 1.0);         // 2 * 1/2 = 1
  EXPECT_NEAR(McNemarExactP(0, 5), 0.0625, 1e-12);    // 2/32
  EXPECT_NEAR(McNemarExactP(5, 0), 0.0625, 1e-12);    // symmetric
  EXPECT_NEAR(McNemarExactP(1, 5), 0.21875, 1e-12);   // 2*7/64
  EXPECT_NEAR(McNemarExactP(2, 8), 0.109375, 1e-12);  // 2*56/1024
  EXPECT_DOUBLE_EQ(McNemarExactP(5, 5), 1.0);
  EXPECT_NEAR(McNemarExactP(10, 2), 0.03857421875, 1e-12);  // 2*79/4096
  EXPECT_NEAR(McNemarExactP(3, 9), 0.14599609375, 1e-12);
  EXPECT_NEAR(McNemarExactP(0, 20), 1.9073486328125e-06, 1e-18);  // 2/2^20
}

TEST(McNemarExactP, LargeCountsStayFinite) {
  EXPECT_NEAR(McNemarExactP(50, 70), 0.0824074793275266, 1e-10);
  const double p = McNemarExactP(20000, 20000);
  EXPECT_GT(p, 0.99);
  EXPECT_LE(p, 1.0);
  EXPECT_LT(McNemarExactP(19000, 21000), 1e-20);
}

TEST(NearestRank, WikipediaExample) {
  // en.wikipedia.org/wiki/Percentile, nearest-rank method: {15,20,35,40,50}
  // p5 -> 15, p30 -> 20, p40 -> 20, p50 -> 35, p100 -> 50.
  const std::vector<double> v = {15, 20, 35, 40, 50};
  EXPECT_EQ(*NearestRank(v, 5), 15);
  EXPECT_EQ(*NearestRank(v, 30), 20);
  EXPECT_EQ(*NearestRank(v, 40), 20);
  EXPECT_EQ(*NearestRank(v, 50), 35);
  EXPECT_EQ(*NearestRank(v, 100), 50);
}

TEST(NearestRank, EdgesAndP95) {
  EXPECT_FALSE(NearestRank({}, 50).has_value());
  EXPECT_EQ(*NearestRank({7}, 50), 7);  // one run
  EXPECT_EQ(*NearestRank({7}, 95), 7);
  std::vector<double> twenty;
  for (int i = 1; i <= 20; ++i) twenty.push_back(i);
  EXPECT_EQ(*NearestRank(twenty, 95), 19);  // ceil(0.95*20) = 19: not the max
  twenty.pop_back();
  EXPECT_EQ(*NearestRank(twenty, 95), 19);  // n = 19: ceil(18.05) = 19, the max
}

TEST(PassAtK, MatchesCombinatorics) {
  // Python: 1 - comb(n-c, k)/comb(n, k) and comb(c, k)/comb(n, k).
  EXPECT_NEAR(*PassAtK(5, 2, 2), 0.7, 1e-12);  // 1 - 3/10
  EXPECT_NEAR(*PassAtK(5, 0, 3), 0.0, 1e-12);
  EXPECT_NEAR(*PassAtK(5, 5, 1), 1.0, 1e-12);
  EXPECT_NEAR(*PassAtK(10, 3, 5), 0.9166666666666666, 1e-12);  // 1 - 21/252
  EXPECT_NEAR(*PassAtK(1, 1, 1), 1.0, 1e-12);                  // one run
  EXPECT_FALSE(PassAtK(3, 1, 4).has_value());
  EXPECT_FALSE(PassAtK(3, 1, 0).has_value());
}

TEST(PassHatK, MatchesCombinatorics) {
  EXPECT_NEAR(*PassHatK(5, 2, 2), 0.1, 1e-12);  // 1/10
  EXPECT_NEAR(*PassHatK(5, 5, 3), 1.0, 1e-12);
  EXPECT_NEAR(*PassHatK(5, 3, 3), 0.1, 1e-12);
  EXPECT_NEAR(*PassHatK(10, 7, 5), 0.08333333333333333, 1e-12);  // 21/252
  EXPECT_NEAR(*PassHatK(4, 0, 1), 0.0, 1e-12);
  EXPECT_FALSE(PassHatK(2, 2, 3).has_value());
}

}  // namespace
}  // namespace traceframe::internal
