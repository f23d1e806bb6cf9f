using System.Runtime.CompilerServices;

namespace MMEureka.Torch;

/// <summary>The state of <see cref="torch.inference_mode"/> on a thread: the packed weights of this scope, by
/// weight tensor (packed on first use, dropped with the scope).</summary>
internal sealed class InferenceMode
{
    [ThreadStatic] private static InferenceMode? _current;

    /// <summary>The scope open on this thread (carried into <see cref="torch.parallel_shards"/>), or null.</summary>
    public static InferenceMode? Current => _current;

    private readonly ConditionalWeakTable<Tensor, float[]> _packed = new();

    /// <summary>W [out, in] packed for <see cref="PackedLinear.Forward"/>, from <paramref name="contiguous"/> (W's
    /// contiguous values) the first time this scope meets <paramref name="weight"/>.</summary>
    public float[] Packed(Tensor weight, Tensor contiguous) =>
        _packed.GetValue(weight, _ => PackedLinear.Pack(contiguous.Storage, contiguous.Offset, contiguous.Sizes[0], contiguous.Sizes[1]));

    /// <summary>Opens a scope (or joins the one open on this thread) with grad mode off; disposing restores both.</summary>
    public static IDisposable Enter() => Use(_current ?? new InferenceMode());

    /// <summary>Makes <paramref name="mode"/> current on this thread, with grad mode off, until disposed.</summary>
    public static IDisposable Use(InferenceMode? mode)
    {
        var previous = _current;
        var grad = Autograd.NoGrad();
        _current = mode;
        return new Restore(previous, grad);
    }

    private sealed class Restore(InferenceMode? previous, IDisposable grad) : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (_done) return;
            grad.Dispose(); // throws, before anything changes, on another thread than the scope's
            _done = true;
            _current = previous;
        }
    }
}

public static partial class torch
{
    /// <summary>
    /// Inference until disposed: <c>using (torch.inference_mode()) { ... }</c> turns grad mode off like
    /// <see cref="no_grad"/>, and the linear layers (<see cref="nn.functional.linear"/>,
    /// <see cref="nn.functional.linear_gelu"/>) pack each weight once and multiply by the packed copy
    /// (<see cref="PackedLinear"/>: faster on skinny products, and each row's numbers independent of the batch).
    /// The weights must not change inside the scope: a packed copy would not see the change. Scopes nest (an inner
    /// one shares the outer one's packed weights) and carry into <see cref="parallel_shards"/>.
    /// </summary>
    public static IDisposable inference_mode() => InferenceMode.Enter();

    /// <summary>True inside <see cref="inference_mode"/> on this thread.</summary>
    public static bool is_inference_mode_enabled() => InferenceMode.Current != null;
}
