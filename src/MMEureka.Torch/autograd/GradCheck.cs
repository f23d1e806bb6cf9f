namespace MMEureka.Torch;

public static partial class torch
{
    /// <summary>Autograd utilities, named after PyTorch's <c>torch.autograd</c>.</summary>
    public static partial class autograd
    {
        /// <summary>
        /// Compares the autograd gradients of <paramref name="func"/> with central finite differences, like
        /// <c>torch.autograd.gradcheck</c>, but returns the measured errors instead of only a bool.
        /// The scalar probed is L = sum(func(inputs) * W) for fixed random weights W (random signs, magnitudes in
        /// [0.5, 1.5), seeded by <paramref name="seed"/>), summed in double; its analytic gradient is one backward
        /// pass with W as the output gradient, its numeric one is (L(x + eps) - L(x - eps)) / (2 eps) per element.
        /// Only inputs with <c>requires_grad</c> are checked; the others are passed through as constants.
        /// The caller's tensors are not modified: the check runs on detached copies.
        /// An element passes when |analytic - numeric| &lt;= atol + rtol * |numeric|.
        /// </summary>
        /// <param name="func">A deterministic function of the inputs (no dropout, no sampling).</param>
        /// <param name="inputs">The point at which the gradient is checked.</param>
        /// <param name="eps">Finite-difference step. float32 rounding of the outputs grows like 1/eps and the
        /// truncation error of the central difference like eps^2; measured on matmul/tanh/log_softmax/exp chains,
        /// 3e-3 keeps both near 1e-4 (1e-3 lets rounding reach ~2e-3 on a 16x32 product).</param>
        /// <param name="atol">Absolute tolerance per element.</param>
        /// <param name="rtol">Relative tolerance per element.</param>
        /// <param name="seed">Seed of the output weights W.</param>
        public static GradCheckResult gradcheck(Func<Tensor[], Tensor> func, Tensor[] inputs,
            double eps = 3e-3, double atol = 1e-3, double rtol = 1e-2, long seed = 0)
        {
            ArgumentNullException.ThrowIfNull(func);
            ArgumentNullException.ThrowIfNull(inputs);
            if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "gradcheck: eps must be positive");
            if (!(atol >= 0) || !(rtol >= 0)) throw new ArgumentOutOfRangeException(nameof(atol), "gradcheck: atol and rtol must be non-negative");
            if (!inputs.Any(x => x.requires_grad))
                throw new ArgumentException("gradcheck: no input has requires_grad = true, so there is nothing to check", nameof(inputs));
            if (!is_grad_enabled())
                throw new InvalidOperationException("gradcheck: called inside no_grad(), where no graph is recorded; call it outside");

            // Private contiguous leaves: perturbing them in place never touches the caller's storage.
            var leaves = inputs.Select(x =>
            {
                var copy = new Tensor(x.ToArray(), (int[])x.Sizes.Clone());
                if (x.requires_grad) copy.requires_grad = true;
                return copy;
            }).ToArray();

            var output = func(leaves);
            var weights = OutputWeights(output.Numel, seed);
            if (output.requires_grad) output.backward(new Tensor((float[])weights.Clone(), (int[])output.Sizes.Clone()));

            double Loss()
            {
                using var _ = no_grad();
                var values = func(leaves).ToArray();
                if (values.Length != weights.Length)
                    throw new InvalidOperationException($"gradcheck: func returned {values.Length} elements on a perturbed input but {weights.Length} at first");
                double s = 0;
                for (int i = 0; i < values.Length; i++) s += (double)values[i] * weights[i];
                return s;
            }

            var details = new List<GradCheckInput>();
            for (int k = 0; k < leaves.Length; k++)
            {
                var x = leaves[k];
                if (!x.requires_grad) continue;
                // An input the output does not depend on gets no gradient from backward: its gradient is zero.
                var analytic = x.grad?.ToArray() ?? new float[x.Numel];
                var numeric = new double[x.Numel];
                for (int i = 0; i < numeric.Length; i++)
                {
                    float saved = x.Storage[i];
                    // Divide by the step float32 can actually represent, not the nominal 2 eps.
                    float up = (float)(saved + eps), down = (float)(saved - eps);
                    x.Storage[i] = up;
                    double lossUp = Loss();
                    x.Storage[i] = down;
                    double lossDown = Loss();
                    x.Storage[i] = saved;
                    numeric[i] = (lossUp - lossDown) / ((double)up - down);
                }
                details.Add(GradCheckInput.Compare(k, x.Sizes, analytic, numeric, atol, rtol));
            }
            return new GradCheckResult(
                details.All(d => d.Passed),
                details.Max(d => d.MaxAbsError),
                details.Max(d => d.MaxRelError),
                details) { _weights = weights };
        }

        /// <summary>
        /// Random signs times magnitudes uniform in [0.5, 1.5): unlike normal weights, none is near zero, so every
        /// output counts and a scalar output is not scaled down until its errors hide under atol.
        /// </summary>
        private static float[] OutputWeights(int count, long seed)
        {
            var u = rand([2L * count], new Generator(seed)).ToArray();
            var w = new float[count];
            for (int i = 0; i < count; i++) w[i] = (u[count + i] < 0.5f ? -1 : 1) * (0.5f + u[i]);
            return w;
        }

        /// <summary><see cref="gradcheck(Func{Tensor[], Tensor}, Tensor[], double, double, double, long)"/> for a function of one tensor.</summary>
        public static GradCheckResult gradcheck(Func<Tensor, Tensor> func, Tensor input,
            double eps = 3e-3, double atol = 1e-3, double rtol = 1e-2, long seed = 0)
            => gradcheck(xs => func(xs[0]), [input], eps, atol, rtol, seed);
    }
}

/// <summary>The outcome of <see cref="torch.autograd.gradcheck(Func{Tensor[], Tensor}, Tensor[], double, double, double, long)"/>.</summary>
/// <param name="Passed">Whether every element of every checked input is within tolerance.</param>
/// <param name="MaxAbsError">Largest |analytic - numeric| over all checked elements.</param>
/// <param name="MaxRelError">Largest |analytic - numeric| / max(|numeric|, atol) over all checked elements.</param>
/// <param name="Inputs">One summary per checked input (inputs without requires_grad are skipped).</param>
public sealed record GradCheckResult(bool Passed, double MaxAbsError, double MaxRelError, IReadOnlyList<GradCheckInput> Inputs)
{
    internal float[] _weights = [];

    /// <summary>A copy of the weights W of L = sum(output * W), row-major over the output.</summary>
    public float[] OutputWeights() => (float[])_weights.Clone();

    /// <summary>One line, e.g. "passed: max abs error 3.1e-05, max rel error 2.2e-04 over 2 inputs".</summary>
    public override string ToString() =>
        $"{(Passed ? "passed" : "FAILED")}: max abs error {MaxAbsError:G3}, max rel error {MaxRelError:G3} over {Inputs.Count} input(s)";
}

/// <summary>The comparison for one input tensor. Scalar properties only, so a list of these renders as a table;
/// the full gradients are available from <see cref="AnalyticGradient"/> and <see cref="NumericGradient"/>.</summary>
/// <param name="Input">Position of the input in the argument list.</param>
/// <param name="Shape">Its shape, e.g. "[3, 4]".</param>
/// <param name="Elements">Number of elements checked.</param>
/// <param name="MaxAbsError">Largest |analytic - numeric| over its elements.</param>
/// <param name="MaxRelError">Largest |analytic - numeric| / max(|numeric|, atol).</param>
/// <param name="WorstElement">Row-major index of the element with the largest excess over the tolerance.</param>
/// <param name="Analytic">Autograd gradient at <paramref name="WorstElement"/>.</param>
/// <param name="Numeric">Finite-difference gradient at <paramref name="WorstElement"/>.</param>
/// <param name="Failures">Elements outside atol + rtol * |numeric|.</param>
/// <param name="Passed">Whether <paramref name="Failures"/> is zero.</param>
public sealed record GradCheckInput(int Input, string Shape, int Elements, double MaxAbsError, double MaxRelError,
    int WorstElement, double Analytic, double Numeric, int Failures, bool Passed)
{
    private float[] _analytic = [];
    private double[] _numeric = [];

    /// <summary>A copy of the autograd gradient, row-major.</summary>
    public float[] AnalyticGradient() => (float[])_analytic.Clone();

    /// <summary>A copy of the finite-difference gradient, row-major.</summary>
    public double[] NumericGradient() => (double[])_numeric.Clone();

    internal static GradCheckInput Compare(int input, int[] sizes, float[] analytic, double[] numeric, double atol, double rtol)
    {
        double maxAbs = 0, maxRel = 0, worstExcess = double.NegativeInfinity;
        int worst = 0, failures = 0;
        for (int i = 0; i < numeric.Length; i++)
        {
            double err = Math.Abs(analytic[i] - numeric[i]);
            double tol = atol + rtol * Math.Abs(numeric[i]);
            double rel = err / Math.Max(Math.Abs(numeric[i]), atol);
            // Written so that a NaN in either gradient fails, and sticks in the maxima (Math.Max propagates NaN).
            bool ok = err <= tol;
            if (!ok) failures++;
            double excess = double.IsNaN(err) ? double.PositiveInfinity : err - tol;
            if (excess > worstExcess)
            {
                worstExcess = excess;
                worst = i;
            }
            maxAbs = Math.Max(maxAbs, err);
            maxRel = Math.Max(maxRel, rel);
        }
        bool any = numeric.Length > 0;
        return new GradCheckInput(input, Tensor.ShapeString(sizes), numeric.Length, maxAbs, maxRel, worst,
            any ? analytic[worst] : 0, any ? numeric[worst] : 0, failures, failures == 0)
        {
            _analytic = analytic,
            _numeric = numeric,
        };
    }
}
