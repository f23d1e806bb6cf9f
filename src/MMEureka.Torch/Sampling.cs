namespace MMEureka.Torch;

public static partial class torch
{
    /// <summary>
    /// Draws <paramref name="num_samples"/> category indices from each row of non-negative weights
    /// <paramref name="input"/> ([C] or [N, C]; rows need not sum to 1). Without replacement a drawn category's
    /// weight is set to zero for the following draws of that row. Returns whole-number floats, [num_samples] or
    /// [N, num_samples]; read them with <c>data&lt;int&gt;()</c>. Inverse-CDF sampling with one uniform draw per sample,
    /// rows in order, so the same generator state gives the same samples.
    /// </summary>
    public static Tensor multinomial(Tensor input, long num_samples, bool replacement = false, Generator? generator = null)
    {
        if (input.Sizes.Length is < 1 or > 2) throw new ArgumentException($"multinomial expects a 1-D or 2-D weight tensor, got {Tensor.ShapeString(input.Sizes)}");
        int rows = input.Sizes.Length == 1 ? 1 : input.Sizes[0], c = input.Sizes[^1];
        int k = (int)num_samples;
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(num_samples), "num_samples must be positive");
        if (!replacement && k > c) throw new ArgumentException($"multinomial: cannot draw {k} samples without replacement from {c} categories");
        var w = input.ToArray();
        var g = generator ?? default_generator;
        var result = new float[rows * k];
        for (int r = 0; r < rows; r++)
        {
            var row = w.AsSpan(r * c, c);
            double total = 0;
            foreach (var v in row)
            {
                if (!(v >= 0) || float.IsInfinity(v)) throw new ArgumentException($"multinomial: row {r} holds a negative, infinite or NaN weight ({v})");
                total += v;
            }
            for (int s = 0; s < k; s++)
            {
                if (total <= 0) throw new ArgumentException($"multinomial: row {r} has no positive weight left");
                int pick = Draw(row, total * g.NextDouble());
                result[r * k + s] = pick;
                if (!replacement)
                {
                    total -= row[pick];
                    row[pick] = 0;
                }
            }
        }
        return new Tensor(result, input.Sizes.Length == 1 ? [k] : [rows, k]);
    }

    /// <summary>The first index whose running sum exceeds <paramref name="u"/> (skipping zero weights, so a
    /// zero-probability category is never drawn even at the boundaries).</summary>
    private static int Draw(ReadOnlySpan<float> row, double u)
    {
        double acc = 0;
        int last = -1;
        for (int i = 0; i < row.Length; i++)
        {
            if (row[i] <= 0) continue;
            acc += row[i];
            last = i;
            if (u < acc) return i;
        }
        return last; // u rounded up to the total
    }
}
