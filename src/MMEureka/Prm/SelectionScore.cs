namespace MMEureka.Prm;

/// <summary>
/// OmegaPRM's priority of a (state, wrong rollout) candidate: Q + U (PAPERS.md section 3, "Selection"). Q prefers
/// rollouts from states that are often right (a wrong rollout there is a "convincing" one, likely to hide a
/// plausible first error) and short rollouts (cheap to search); U is the AlphaGo-style exploration bonus that
/// shrinks as a state is selected again.
/// </summary>
public static class SelectionScore
{
    /// <summary>OmegaPRM's Q(s, r) = alpha^(1 - MC(s)) * beta^(len(r) / L).</summary>
    public static double Q(double mc, double length, double alpha, double beta, double lengthScale) =>
        Math.Pow(alpha, 1 - mc) * Math.Pow(beta, length / lengthScale);

    /// <summary>OmegaPRM's U(s) = c_puct * sqrt(sum over the tree of N) / (1 + N(s)); N counts selections, so U = 0
    /// everywhere before the first search.</summary>
    public static double U(int visits, int totalVisits, double cPuct) =>
        cPuct * Math.Sqrt(totalVisits) / (1 + visits);
}
