using MMEureka.Prm;

namespace MMEureka.Tests.Prm;

/// <summary>Q, U and the candidate pool.</summary>
public sealed class SelectionTests
{
    [Theory]
    [InlineData(0.5, 250, 500, 0.670820)] // PAPERS.md's worked value: 0.5^0.5 * 0.9^0.5
    [InlineData(1.0, 0, 500, 1.0)]
    [InlineData(0.0, 500, 500, 0.45)]
    [InlineData(0.25, 50, 100, 0.5946036 * 0.9486833)]
    public void QMatchesWorkedValues(double mc, double length, double scale, double expected) =>
        Assert.Equal(expected, SelectionScore.Q(mc, length, 0.5, 0.9, scale), 5);

    [Fact]
    public void UIsZeroBeforeTheFirstSearchAndShrinksWithVisits()
    {
        Assert.Equal(0, SelectionScore.U(0, 0, 0.125));
        Assert.Equal(0.125 * 2, SelectionScore.U(0, 4, 0.125), 12);
        Assert.Equal(0.125 * 2 / 3, SelectionScore.U(2, 4, 0.125), 12);
    }

    private static SearchNode NodeWith(int id, int rollouts)
    {
        var node = new SearchNode(id, null, [], false, NodeKind.Root, 0);
        for (int r = 0; r < rollouts; r++)
        {
            node.WrongRollouts.Add(new Rollout($"r{r}", ["x"], false, false));
            node.Remaining.Add(r);
        }
        return node;
    }

    [Fact]
    public void PoolPopsTheLatestHighestPriorityAndNeverReturnsAPoppedPair()
    {
        var a = NodeWith(0, 3);
        var pool = new CandidatePool();
        pool.Update(a, 0, 0.5);
        pool.Update(a, 1, 0.9);
        pool.Update(a, 2, 0.7);
        pool.Update(a, 1, 0.1); // re-scored: its 0.9 entry is stale now
        Assert.Equal(3, pool.Count);
        Assert.True(pool.TryPop(out var s, out int r));
        Assert.Same(a, s);
        Assert.Equal(2, r);
        Assert.Throws<InvalidOperationException>(() => pool.Update(a, 2, 5.0));
        Assert.True(pool.TryPop(out _, out r));
        Assert.Equal(0, r);
        Assert.True(pool.TryPop(out _, out r));
        Assert.Equal(1, r);
        Assert.False(pool.TryPop(out _, out _));
        Assert.True(pool.IsEmpty);
        Assert.Empty(a.Remaining);
    }

    [Fact]
    public void EqualPrioritiesPopInInsertionOrder()
    {
        var a = NodeWith(0, 4);
        var pool = new CandidatePool();
        foreach (int r in new[] { 2, 0, 3, 1 }) pool.Update(a, r, 0.25);
        var order = new List<int>();
        while (pool.TryPop(out _, out int r)) order.Add(r);
        Assert.Equal([2, 0, 3, 1], order);
    }
}
