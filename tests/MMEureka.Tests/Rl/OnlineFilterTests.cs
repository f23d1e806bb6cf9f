using MMEureka.Data;
using MMEureka.Rl;

namespace MMEureka.Tests.Rl;

public sealed class OnlineFilterTests
{
    private static readonly Problem P = MiniK12Generator.GenerateSplit(new MiniK12Config(Seed: 2, Train: 1), Split.Train)[0];

    private static List<Rollout> Group(int correct, int n, double format = 0.5) =>
        Enumerable.Range(0, n).Select(i => new Rollout(P, [1], [2], [0f], "", i < correct ? 1 : 0, format, false)).ToList();

    [Theory]
    [InlineData(0, 10, false)]
    [InlineData(1, 10, true)]   // 0.1: the low end is inclusive
    [InlineData(5, 10, true)]
    [InlineData(9, 10, true)]   // 0.9: the high end is inclusive
    [InlineData(10, 10, false)]
    [InlineData(0, 8, false)]
    [InlineData(8, 8, false)]
    [InlineData(7, 8, true)]
    public void KeepsGroupsWhoseMeanAccuracyIsInRange(int correct, int n, bool kept) =>
        Assert.Equal(kept, new OnlineFilter().Keep(Group(correct, n)));

    [Fact]
    public void LooksAtAccuracyOnlyNotTheFormatReward()
    {
        // All wrong but well formatted: rewards 0.5 each, mean accuracy 0 -> filtered although the reward is not 0.
        Assert.False(new OnlineFilter().Keep(Group(0, 8, format: 0.5)));
        Assert.True(new OnlineFilter().Keep(Group(4, 8, format: 0)));
    }
}
