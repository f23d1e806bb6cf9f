namespace MMEureka.Eval;

/// <summary>
/// The unbiased pass@k estimator of Chen et al. (2021, "Evaluating Large Language Models Trained on Code", Eq. 1):
/// with n samples of which c are correct, pass@k = 1 - C(n - c, k) / C(n, k), averaged over problems.
/// </summary>
public static class PassAtK
{
    /// <summary>pass@k of one problem from n samples with c correct (k &lt;= n).</summary>
    public static double Estimate(int n, int c, int k)
    {
        if (n <= 0 || k <= 0 || k > n) throw new ArgumentOutOfRangeException(nameof(k), $"pass@k needs 0 < k <= n, got k = {k}, n = {n}");
        if (c < 0 || c > n) throw new ArgumentOutOfRangeException(nameof(c), $"correct count {c} is outside [0, {n}]");
        if (n - c < k) return 1.0;
        // C(n-c, k) / C(n, k) = prod_{i = n-c+1}^{n} (1 - k / i), the numerically stable product form.
        double ratio = 1.0;
        for (int i = n - c + 1; i <= n; i++) ratio *= 1.0 - (double)k / i;
        return 1.0 - ratio;
    }

    /// <summary>Mean pass@k over problems, given each problem's correct count out of n samples.</summary>
    public static double Mean(IReadOnlyList<int> correctCounts, int n, int k)
    {
        if (correctCounts.Count == 0) return double.NaN;
        double sum = 0;
        foreach (var c in correctCounts) sum += Estimate(n, c, k);
        return sum / correctCounts.Count;
    }
}
