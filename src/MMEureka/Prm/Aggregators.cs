namespace MMEureka.Prm;

/// <summary>How a candidate's step scores become one number for Best-of-N (MM-PRM's eight).</summary>
public enum Aggregator
{
    /// <summary>The weakest step.</summary>
    Min,
    /// <summary>The final step (the answer's score when there is one).</summary>
    Last,
    /// <summary>Product of the step scores.</summary>
    Product,
    /// <summary>Mean step score.</summary>
    Average,
    /// <summary>The strongest step.</summary>
    Max,
    /// <summary>Sum of log p (log 0 counts as -9999).</summary>
    SumLogP,
    /// <summary>Sum of log(p / (1 - p)) (odds of 1 count as 9999, log 0 as -9999).</summary>
    SumLogOdds,
    /// <summary>Mean of the odds p / (1 - p) (odds of 1 count as 9999).</summary>
    MeanOdds,
}

/// <summary>
/// MM-PRM's aggregators over one candidate's step scores, with its released code's conventions (PAPERS.md section 3):
/// an empty step list scores 0; log 0 becomes -9999 and the odds of p = 1 become 9999, so a certain step neither
/// overflows nor wipes out the comparison; <see cref="ArgMax"/> breaks ties to the first candidate.
/// </summary>
public static class Aggregators
{
    /// <summary>Stand-in for log 0 (MM-PRM's code).</summary>
    public const double LogZero = -9999;
    /// <summary>Stand-in for the odds of p = 1 (MM-PRM's code).</summary>
    public const double OddsOfOne = 9999;

    /// <summary>All eight, in MM-PRM's table order.</summary>
    public static IReadOnlyList<Aggregator> All { get; } = Enum.GetValues<Aggregator>();

    /// <summary>The column name used in tables and JSON (min, last, product, average, max, sum_log_p, sum_log_odds, mean_odds).</summary>
    public static string Name(Aggregator a) => a switch
    {
        Aggregator.SumLogP => "sum_log_p",
        Aggregator.SumLogOdds => "sum_log_odds",
        Aggregator.MeanOdds => "mean_odds",
        _ => a.ToString().ToLowerInvariant(),
    };

    /// <summary>One candidate's score under <paramref name="aggregator"/>.</summary>
    public static double Aggregate(IReadOnlyList<double> steps, Aggregator aggregator)
    {
        if (steps.Count == 0) return 0;
        return aggregator switch
        {
            Aggregator.Min => steps.Min(),
            Aggregator.Last => steps[^1],
            Aggregator.Product => steps.Aggregate(1.0, (a, p) => a * p),
            Aggregator.Average => steps.Average(),
            Aggregator.Max => steps.Max(),
            Aggregator.SumLogP => steps.Sum(SafeLog),
            Aggregator.SumLogOdds => steps.Sum(p => SafeLog(Odds(p))),
            Aggregator.MeanOdds => steps.Average(Odds),
            _ => throw new ArgumentOutOfRangeException(nameof(aggregator), aggregator, null),
        };
    }

    /// <summary>log p, with log 0 = <see cref="LogZero"/>.</summary>
    public static double SafeLog(double p) => p > 0 ? Math.Log(p) : LogZero;

    /// <summary>p / (1 - p), with the odds of 1 = <see cref="OddsOfOne"/>.</summary>
    public static double Odds(double p) => p < 1 ? p / (1 - p) : OddsOfOne;

    /// <summary>Index of the largest value; ties go to the first (MM-PRM's argmax). A NaN score ranks below every
    /// number (all NaN: the first candidate).</summary>
    public static int ArgMax(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("argmax of no candidates");
        int best = -1;
        for (int i = 0; i < values.Count; i++)
            if (!double.IsNaN(values[i]) && (best < 0 || values[i] > values[best])) best = i;
        return Math.Max(best, 0);
    }
}
