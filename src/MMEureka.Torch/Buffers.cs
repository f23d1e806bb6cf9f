namespace MMEureka.Torch;

/// <summary>
/// Recycled float arrays for the engine's large temporaries. Every new tensor storage of at least
/// <see cref="MinLength"/> elements comes from <see cref="Uninitialized"/>; an array goes back only when the engine
/// can prove nothing reaches it any more: a gradient that backward() allocated, consumed and did not pass on, and
/// the private buffers a node saved for its backward (LayerNorm's normalised input, attention's probabilities) once
/// that backward ran and the node was freed. Arrays that were ever handed to user code are never returned. Reuse
/// saves the page faults of fresh memory (about 11k per training step before) and the collections that garbage
/// of this size triggers.
/// </summary>
internal static class Buffers
{
    /// <summary>Smaller arrays are allocated plainly: the young generation handles them cheaply.</summary>
    public const int MinLength = 1 << 14;

    /// <summary>At most this many bytes wait in the pool; arrays beyond it are left to the GC.</summary>
    public static long CapacityBytes { get; set; } = 192L << 20;

    private static readonly Dictionary<int, Stack<float[]>> _free = [];
    private static readonly object _lock = new();
    private static long _pooledBytes;

    /// <summary>Arrays allocated inside the current backward() (flows into Parallel.For workers of its kernels).</summary>
    private static readonly AsyncLocal<HashSet<float[]>?> _backwardArrays = new();

    /// <summary>Bytes waiting in the pool (for tests and diagnostics).</summary>
    public static long PooledBytes { get { lock (_lock) return _pooledBytes; } }

    /// <summary>Arrays handed back so far (for tests and diagnostics).</summary>
    public static long ReturnedCount { get { lock (_lock) return _returned; } }
    private static long _returned;

    /// <summary>The array in <paramref name="slot"/> (a [ThreadStatic] field of the caller, so each thread has its
    /// own), replaced by a larger one when it holds fewer than <paramref name="length"/> floats; contents unspecified.
    /// For per-row or per-head temporaries that no tensor keeps.</summary>
    public static float[] Scratch(ref float[]? slot, int length)
    {
        if (slot == null || slot.Length < length) slot = new float[length];
        return slot;
    }

    /// <summary>An array of exactly <paramref name="length"/> elements whose contents are unspecified: the caller
    /// overwrites all of it.</summary>
    public static float[] Uninitialized(int length)
    {
        float[]? array = null;
        if (length >= MinLength)
            lock (_lock)
                if (_free.TryGetValue(length, out var stack) && stack.Count > 0)
                {
                    array = stack.Pop();
                    _pooledBytes -= 4L * length;
                }
        array ??= GC.AllocateUninitializedArray<float>(length);
        if (length >= MinLength && _backwardArrays.Value is { } made)
            lock (made) made.Add(array);
        return array;
    }

    /// <summary>Starts recording the arrays allocated by this backward pass; returns the record.</summary>
    public static HashSet<float[]> BeginBackward()
    {
        var made = new HashSet<float[]>(ReferenceEqualityComparer.Instance);
        _backwardArrays.Value = made;
        return made;
    }

    /// <summary>Stops recording (the arrays themselves stay wherever they are).</summary>
    public static void EndBackward() => _backwardArrays.Value = null;

    /// <summary>Puts <paramref name="array"/> back for reuse. Only for arrays nothing can reach any more.</summary>
    public static void Return(float[] array)
    {
        if (array.Length < MinLength) return;
        lock (_lock)
        {
            if (_pooledBytes + 4L * array.Length > CapacityBytes) return;
            if (!_free.TryGetValue(array.Length, out var stack)) _free[array.Length] = stack = new Stack<float[]>();
            stack.Push(array);
            _pooledBytes += 4L * array.Length;
            _returned++;
        }
    }
}
