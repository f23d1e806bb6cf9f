namespace MMEureka.Prm;

/// <summary>Held-out quality of a PRM.</summary>
/// <param name="StepBce">Mean binary cross-entropy of the step scores against the soft labels, over all scored steps.</param>
/// <param name="WrongAccuracy">Of the wrong paths (some label is 0), the fraction whose first step scored below 0.5
/// is exactly the first step labelled 0.</param>
/// <param name="CorrectAccuracy">Of the correct paths (every label above 0), the fraction with no step below 0.5.</param>
/// <param name="F1">ProcessBench's F1: the harmonic mean of the two accuracies (0 when either is 0; NaN when the
/// held-out paths have no wrong or no correct one).</param>
/// <param name="Paths">Paths evaluated.</param>
/// <param name="Steps">Steps scored.</param>
public sealed record PrmMetrics(double StepBce, double WrongAccuracy, double CorrectAccuracy, double F1, int Paths, int Steps)
{
    /// <summary>A step is flagged as wrong when its score is below this.</summary>
    public const double Threshold = 0.5;

    /// <summary>Index of the first step labelled 0 (the annotator's MC = 0), or -1 when there is none.</summary>
    public static int FirstWrong(IReadOnlyList<double> labels)
    {
        for (int i = 0; i < labels.Count; i++)
            if (labels[i] <= 0) return i;
        return -1;
    }

    /// <summary>Index of the first step scored below <see cref="Threshold"/>, or -1.</summary>
    public static int FirstFlagged(IReadOnlyList<double> scores)
    {
        for (int i = 0; i < scores.Count; i++)
            if (scores[i] < Threshold) return i;
        return -1;
    }

    /// <summary>
    /// The metrics of <paramref name="scores"/> (per path, per scored step) against <paramref name="labels"/> (soft,
    /// per path; only as many as were scored are used). A path is wrong when its scored labels contain a 0.
    /// </summary>
    public static PrmMetrics Compute(IReadOnlyList<IReadOnlyList<double>> scores, IReadOnlyList<IReadOnlyList<double>> labels)
    {
        if (scores.Count != labels.Count) throw new ArgumentException($"{scores.Count} score lists for {labels.Count} label lists");
        double bce = 0;
        int steps = 0, wrong = 0, wrongHit = 0, correct = 0, correctHit = 0;
        for (int i = 0; i < scores.Count; i++)
        {
            var s = scores[i];
            var l = labels[i].Take(s.Count).ToList();
            for (int k = 0; k < s.Count; k++)
            {
                // Clamped so that a saturated score costs a finite (large) amount.
                double p = Math.Clamp(s[k], 1e-7, 1 - 1e-7);
                bce -= l[k] * Math.Log(p) + (1 - l[k]) * Math.Log(1 - p);
                steps++;
            }
            if (s.Count == 0) continue;
            int first = FirstWrong(l);
            if (first >= 0) { wrong++; if (FirstFlagged(s) == first) wrongHit++; }
            else { correct++; if (FirstFlagged(s) < 0) correctHit++; }
        }
        double accWrong = wrong > 0 ? wrongHit / (double)wrong : double.NaN;
        double accCorrect = correct > 0 ? correctHit / (double)correct : double.NaN;
        double f1 = double.IsNaN(accWrong) || double.IsNaN(accCorrect) ? double.NaN
            : accWrong + accCorrect > 0 ? 2 * accWrong * accCorrect / (accWrong + accCorrect) : 0;
        return new PrmMetrics(steps > 0 ? bce / steps : double.NaN, accWrong, accCorrect, f1, scores.Count, steps);
    }
}
