namespace MMEureka.Rl;

/// <summary>
/// MM-Eureka's online accuracy filter: a group is kept iff low &lt;= mean accuracy reward of its responses &lt;= high
/// (both ends inclusive; the accuracy reward only, not accuracy + format). Groups the policy always or never solves
/// carry (almost) no advantage signal, and without the filter MM-Eureka saw accuracy collapse.
/// </summary>
public sealed record OnlineFilter(double Low = 0.1, double High = 0.9)
{
    /// <summary>True when the group's mean accuracy lies in [Low, High].</summary>
    public bool Keep(IReadOnlyList<Rollout> group)
    {
        if (group.Count == 0) return false;
        double mean = group.Average(r => r.Accuracy);
        return mean >= Low && mean <= High;
    }
}
