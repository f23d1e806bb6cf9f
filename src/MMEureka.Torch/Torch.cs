using System.Diagnostics.CodeAnalysis;

namespace MMEureka.Torch;

/// <summary>
/// The entry point, named and shaped like TorchSharp's <c>torch</c>: tensor factories, seeding, grad mode and
/// free functions; <c>nn</c>, <c>optim</c> and <c>nn.functional</c> are nested inside.
/// Write <c>using static MMEureka.Torch.torch;</c> to call <c>zeros(2, 3)</c>, <c>nn.Linear(4, 8)</c>, ...
/// </summary>
[SuppressMessage("Style", "IDE1006:Naming Styles", Justification = "mirrors TorchSharp/PyTorch names")]
public static partial class torch
{
    /// <summary>The generator used when none is passed (factories, init functions, dropout).</summary>
    public static Generator default_generator { get; } = new(0);

    /// <summary>Reseeds the default generator and returns it.</summary>
    public static Generator manual_seed(long seed) => default_generator.manual_seed(seed);

    /// <summary>Disables autograd recording on this thread until disposed: <c>using (torch.no_grad()) { ... }</c>.</summary>
    public static IDisposable no_grad() => Autograd.NoGrad();

    /// <summary>A full garbage collection runs at the end of a <c>backward()</c> (that frees its graph) once this many
    /// MB were allocated since the last one, so that finished steps' activations are reclaimed before the next step
    /// allocates (keeps the peak working set near one step's live set: 380 MB instead of 650 MB on the training
    /// benchmark). 0 turns it off. Default 128, or the
    /// environment variable <c>MMEUREKA_GC_AFTER_BACKWARD_MB</c>.</summary>
    public static long gc_after_backward_mb { get; set; } =
        long.TryParse(Environment.GetEnvironmentVariable("MMEUREKA_GC_AFTER_BACKWARD_MB"), out var mb) ? mb : 128;

    /// <summary>False inside <see cref="no_grad"/>.</summary>
    public static bool is_grad_enabled() => Autograd.Enabled;

    // ---------------------------------------------------------------- factories

    private static Tensor Make(float[] data, long[] shape, bool requiresGrad)
    {
        var t = new Tensor(data, Tensor.ToInt(shape));
        if (requiresGrad) t.requires_grad = true;
        return t;
    }

    private static float[] Buffer(long[] shape) => new float[Tensor.NumelOf(Tensor.ToInt(shape))];

    /// <summary>A tensor of zeros.</summary>
    public static Tensor zeros(params long[] shape) => zeros(shape, false);

    /// <summary>A tensor of zeros.</summary>
    public static Tensor zeros(long[] shape, bool requires_grad) => Make(Buffer(shape), shape, requires_grad);

    /// <summary>A tensor of ones.</summary>
    public static Tensor ones(params long[] shape) => full(shape, 1f);

    /// <summary>A tensor of ones.</summary>
    public static Tensor ones(long[] shape, bool requires_grad) => full(shape, 1f, requires_grad);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor full(long[] shape, float value, bool requires_grad = false)
    {
        var data = Buffer(shape);
        Array.Fill(data, value);
        return Make(data, shape, requires_grad);
    }

    /// <summary>An uninitialised tensor (zeros here: managed arrays are always cleared).</summary>
    public static Tensor empty(params long[] shape) => zeros(shape);

    /// <summary>Zeros with the shape of <paramref name="t"/>.</summary>
    public static Tensor zeros_like(Tensor t) => zeros(t.shape);

    /// <summary>Ones with the shape of <paramref name="t"/>.</summary>
    public static Tensor ones_like(Tensor t) => ones(t.shape);

    /// <summary>Standard normal samples.</summary>
    public static Tensor randn(params long[] shape) => randn(shape, null);

    /// <summary>Standard normal samples from <paramref name="generator"/> (default generator when null).</summary>
    public static Tensor randn(long[] shape, Generator? generator, bool requires_grad = false)
    {
        var data = Buffer(shape);
        (generator ?? default_generator).FillNormal(data);
        return Make(data, shape, requires_grad);
    }

    /// <summary>Uniform samples in [0, 1).</summary>
    public static Tensor rand(params long[] shape) => rand(shape, null);

    /// <summary>Uniform samples in [0, 1) from <paramref name="generator"/>.</summary>
    public static Tensor rand(long[] shape, Generator? generator, bool requires_grad = false)
    {
        var data = Buffer(shape);
        (generator ?? default_generator).FillUniform(data);
        return Make(data, shape, requires_grad);
    }

    /// <summary>Uniform integers in [low, high), stored as whole-number floats.</summary>
    public static Tensor randint(long low, long high, long[] shape, Generator? generator = null)
    {
        if (high <= low) throw new ArgumentException($"randint: high ({high}) must exceed low ({low})");
        var data = Buffer(shape);
        var g = generator ?? default_generator;
        for (int i = 0; i < data.Length; i++) data[i] = low + g.NextInt((int)(high - low));
        return Make(data, shape, false);
    }

    /// <summary>Uniform integers in [0, high).</summary>
    public static Tensor randint(long high, long[] shape, Generator? generator = null) => randint(0, high, shape, generator);

    /// <summary>Values start, start+step, ... below stop.</summary>
    public static Tensor arange(double start, double stop, double step = 1)
    {
        if (step == 0) throw new ArgumentException("arange: step must be non-zero");
        int n = Math.Max(0, (int)Math.Ceiling((stop - start) / step));
        var data = new float[n];
        for (int i = 0; i < n; i++) data[i] = (float)(start + i * step);
        return new Tensor(data, [n]);
    }

    /// <summary>Values 0, 1, ..., stop-1.</summary>
    public static Tensor arange(long stop) => arange(0, stop);

    /// <summary>A tensor over a copy of <paramref name="data"/>; with no shape it is 1-D.</summary>
    public static Tensor tensor(float[] data, params long[] shape) => tensor(data, shape, false);

    /// <summary>A tensor over a copy of <paramref name="data"/>.</summary>
    public static Tensor tensor(float[] data, long[] shape, bool requires_grad)
    {
        if (shape.Length == 0) shape = [data.Length];
        int n = Tensor.NumelOf(Tensor.ToInt(shape));
        if (n != data.Length) throw new ArgumentException($"tensor: {data.Length} values do not fill shape [{string.Join(", ", shape)}]");
        return Make((float[])data.Clone(), shape, requires_grad);
    }

    /// <summary>A zero-dimensional tensor holding <paramref name="value"/>.</summary>
    public static Tensor tensor(float value, bool requires_grad = false) => Make([value], [], requires_grad);

    /// <summary>A 1-D tensor of whole numbers (token ids, class indices).</summary>
    public static Tensor tensor(int[] data, params long[] shape)
    {
        var f = new float[data.Length];
        for (int i = 0; i < f.Length; i++) f[i] = data[i];
        return tensor(f, shape.Length == 0 ? [data.Length] : shape, false);
    }

    /// <summary>A tensor from a (multi-dimensional) .NET array of float, double, int or long; shape = array's shape.</summary>
    public static Tensor from_array(Array array)
    {
        var shape = new long[array.Rank];
        for (int d = 0; d < shape.Length; d++) shape[d] = array.GetLength(d);
        var data = new float[array.Length];
        int i = 0;
        foreach (var v in array)
            data[i++] = v switch
            {
                float f => f,
                double x => (float)x,
                int k => k,
                long l => l,
                bool b => b ? 1 : 0,
                _ => throw new ArgumentException($"from_array: element type {v?.GetType().Name} is not supported"),
            };
        return new Tensor(data, Tensor.ToInt(shape));
    }
}
