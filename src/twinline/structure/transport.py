r"""Steady-state diffusion through a voxel image: effective diffusivity and tortuosity factor.

The image is a conductivity field :math:`D(\mathbf{x})` on a voxel grid (a binary phase mask is
:math:`D = 1` in the phase, 0 elsewhere). Between two opposite faces of ``axis`` the potential
is fixed (0 and 1, Dirichlet, at the outer faces of the first and last voxel layers); the four
other faces are insulated (no flux). The finite-volume equations are

.. math::

    \sum_{j \sim i} g_{ij} (u_j - u_i) + b_i (u^{\mathrm{face}}_i - u_i) = 0,
    \qquad g_{ij} = \frac{2 D_i D_j}{D_i + D_j}, \quad b_i = 2 D_i,

the relative effective diffusivity is the total flux :math:`F` scaled to the box,
:math:`D_{\mathrm{eff}}/D_0 = F\,n_{axis} / (A\,\Delta u)` (A the number of voxels in a
plane), and the tortuosity factor follows TauFactor's convention [1]_

.. math:: \tau_f = \frac{\langle D\rangle}{D_{\mathrm{eff}}} \;(=\varepsilon\,D_0/D_{\mathrm{eff}}
          \text{ for one phase}),

which is TauFactor's ``tau`` and PoreSpy's ``tortuosity`` (some texts write it τ², with τ a
geometric tortuosity; twinline's ``tau``/``tortuosity_factor_*`` is always τ_f itself).
A solve has converged when the relative residual is below ``tol`` *and* the flux through every
plane normal to the axis is the same to within ``flux_tol`` (max − min over mean); while the
fluxes do not balance, the residual tolerance is tightened (as PoreSpy's ``ftol`` does).

with :math:`\langle D\rangle` averaged over the *whole* box (non-percolating voxels included, as
TauFactor does). Clusters that do not touch both Dirichlet faces carry no flux: they are removed
before solving (6-connectivity), which also keeps the linear system non-singular. A phase with no
percolating cluster has :math:`D_{\mathrm{eff}} = 0` and :math:`\tau_f = \infty`.

Solver: conjugate gradients preconditioned by one symmetric multigrid V-cycle. The coarse levels
are the exact Galerkin operators :math:`P^T A P` of 2×2×2 piecewise-constant aggregation, which for
this 7-point operator are again 7-point operators whose face conductances are sums of the fine
ones; smoothing is red-black Gauss–Seidel (forward before, reversed after the coarse correction,
so the preconditioner is symmetric positive definite); the coarsest level is factorised (SuperLU).
Everything works in place on the voxel grid (matrix-free, float32 conductances, float64 fields),
so a 512³ image needs about 60 bytes per voxel. The inner-loop kernels (:mod:`._kernels`) are
serial numba functions over slabs of axis 0, run on :func:`solver_threads` threads for large
grids; the result is bit-identical for any number of threads.

References
----------
.. [1] S. J. Cooper, A. Bertei, P. R. Shearing, J. A. Kilner, N. P. Brandon, "TauFactor: An
       open-source application for calculating tortuosity factors from tomographic data",
       SoftwareX 5 (2016) 203-210. doi:10.1016/j.softx.2016.09.002
.. [2] S. Kench, I. Squires, S. J. Cooper, "TauFactor 2: A GPU accelerated python tool for
       microstructural analysis", J. Open Source Softw. 8 (2023) 5358. doi:10.21105/joss.05358
.. [3] Y. Notay, "An aggregation-based algebraic multigrid method", Electron. Trans. Numer.
       Anal. 37 (2010) 123-146.
"""

from __future__ import annotations

import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field as dc_field

import numpy as np

from twinline.spec.errors import ConvergenceWarning, StructureError

CITATIONS: tuple[str, ...] = ("Cooper2016", "Kench2023")

_COARSEST_CELLS = 3000
_SMOOTH = 2
_SCALE = 1.8
#: Default largest flux spread (max − min)/mean between planes [-] for a converged solve. The
#: tortuosity factor uses the mean flux and is far more accurate than the spread: measured on a
#: 128³ NMC pore phase, a spread of 2.3e-2 (at tol 1e-4) left it 0.05 % from the value at spread
#: 1.4e-3; 5e-2 thus keeps it within about 0.1 % without extra iterations on typical images.
FLUX_SPREAD_THRESHOLD = 5e-2
_TOL_FLOOR = 1e-12


@dataclass(frozen=True)
class TransportResult:
    """Result of one steady-state transport solve.

    Attributes
    ----------
    tau : float
        Tortuosity factor ε·D₀/D_eff [-] (⟨D⟩/D_eff for a field): TauFactor's ``tau`` and
        PoreSpy's ``tortuosity``; ``inf`` if the phase does not percolate.
    d_eff_rel : float
        Effective relative diffusivity D_eff/D_0 [-] (``= volume_fraction / tau`` for one phase).
    volume_fraction : float
        Conductivity-weighted volume fraction ⟨D⟩/D_0 of the whole box [-] (ε for one phase).
    percolating_fraction : float
        Share of the conducting voxels that belong to clusters touching both faces [-].
    percolates : bool
        Whether any cluster connects the two faces.
    converged : bool
        Both criteria held: ``residual <= tolerance`` and ``flux_spread <=
        flux_spread_threshold`` (:attr:`criterion` says it in words).
    iterations : int
        Conjugate-gradient iterations.
    residual : float
        Final relative residual ‖b − Au‖/‖b‖ [-].
    flux_spread : float
        (max − min)/mean of the plane fluxes along the axis [-] (0 for an exact solution).
    wall_s : float
        Wall time of the solve [s].
    field : ndarray or None
        Potential field (0 … 1, NaN outside the percolating clusters) when asked for.
    flux : ndarray or None
        Flux component along ``axis`` at voxel centres [relative units] when asked for.
    """

    tau: float
    d_eff_rel: float
    volume_fraction: float
    percolating_fraction: float
    percolates: bool
    converged: bool
    iterations: int
    residual: float
    flux_spread: float
    wall_s: float
    field: np.ndarray | None = dc_field(default=None, repr=False, compare=False)
    flux: np.ndarray | None = dc_field(default=None, repr=False, compare=False)
    tolerance: float = float("nan")
    flux_spread_threshold: float = float("nan")

    @property
    def criterion(self) -> str:
        """What ``converged`` means for this solve, with the numbers."""
        return (f"relative residual ||b - Au||/||b|| = {self.residual:.2e} <= tol "
                f"{self.tolerance:.1e} and flux spread (max - min)/mean over the planes normal "
                f"to the axis = {self.flux_spread:.2e} <= {self.flux_spread_threshold:.1e}")

    @property
    def tortuosity(self) -> float:
        """√(tortuosity factor) [-]: a geometric tortuosity only under Epstein's model
        (tortuosity factor = tortuosity²); it is *not* what TauFactor (``tau``) or PoreSpy
        (``tortuosity``) report, which is :attr:`tau` itself."""
        return float(np.sqrt(self.tau))


def percolating_mask(mask: np.ndarray, axis: int = 0) -> np.ndarray:
    """Voxels of ``mask`` in 6-connected clusters that touch both faces normal to ``axis``.

    Parameters
    ----------
    mask : ndarray of bool, 3D
    axis : int

    Returns
    -------
    ndarray of bool, same shape.

    Examples
    --------
    >>> m = np.zeros((4, 3, 3), bool); m[:, 1, 1] = True; m[1, 0, 0] = True
    >>> int(percolating_mask(m).sum())
    4
    """
    mask = np.asarray(mask, dtype=bool)
    try:
        import cc3d

        labels = cc3d.connected_components(mask.view(np.uint8), connectivity=6)
    except ImportError:  # pragma: no cover - cc3d is a dependency of porespy
        from scipy import ndimage

        labels, _ = ndimage.label(mask)
    m = np.moveaxis(labels, axis, 0)
    low = np.unique(m[0])
    high = np.unique(m[-1])
    keep = np.intersect1d(low, high)
    keep = keep[keep != 0]
    if keep.size == 0:
        return np.zeros_like(mask)
    lut = np.zeros(int(labels.max()) + 1, dtype=bool)
    lut[keep] = True
    return lut[labels]


#: Grids with fewer cells than this run on one thread: handing slabs to the pool costs a few
#: tens of µs per kernel call, and on a busy machine (more runnable threads than cores) a
#: thread hand-off can take a scheduler time slice; small grids are faster, and far less
#: sensitive to load, on one thread.
_PARALLEL_MIN_CELLS = 50_000

_POOL: tuple[int, int, ThreadPoolExecutor] | None = None   # (pid, workers, pool)


def solver_threads() -> int:
    """Threads the solver's slab kernels run on: ``NUMBA_NUM_THREADS`` when set (as numba's own
    parallel loops would use), else the CPUs this process may run on."""
    env = os.environ.get("NUMBA_NUM_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not on Linux
        return max(os.cpu_count() or 1, 1)


def _pool(n: int) -> ThreadPoolExecutor:
    """A process-wide pool of at least ``n`` worker threads (made on first use, and anew in a
    forked child, whose copy of the parent's pool has no threads behind it)."""
    global _POOL
    pid = os.getpid()
    if _POOL is None or _POOL[0] != pid or _POOL[1] < n:
        _POOL = (pid, n, ThreadPoolExecutor(max_workers=n, thread_name_prefix="twinline-slab"))
    return _POOL[2]


class _Kernels:
    """The kernel set of one level: the slab kernels split axis 0 into one slab per thread on
    large grids (run on a thread pool; the kernels release the GIL), one slab on small ones.

    The calling thread runs the first slab itself. The reductions sum per-plane partial sums
    with NumPy, so results do not depend on the number of threads. The one-pass set-up and
    read-out steps are NumPy (:mod:`._gridops`)."""

    def __init__(self, n_cells: int):
        from twinline.structure import _gridops as G
        from twinline.structure import _kernels as K

        self._K = K
        for name in ("diagonal", "coarsen_faces", "face_conductances", "layer_fluxes"):
            setattr(self, name, getattr(G, name))   # one-pass set-up and read-out: NumPy
        n = solver_threads() if n_cells >= _PARALLEL_MIN_CELLS else 1
        self._threads = n
        self._acc: np.ndarray | None = None

    def _run(self, fn, n0: int, *args) -> None:
        n = min(self._threads, n0)
        if n <= 1:
            fn(*args, 0, n0)
            return
        bounds = [n0 * t // n for t in range(n + 1)]
        pool = _pool(n - 1)
        futs = [pool.submit(fn, *args, bounds[t], bounds[t + 1]) for t in range(1, n)]
        fn(*args, bounds[0], bounds[1])
        for f in futs:
            f.result()

    def _partials(self, n0: int) -> np.ndarray:
        if self._acc is None or self._acc.shape[0] != n0:
            self._acc = np.zeros(n0)
        return self._acc

    def apply(self, u, gx, gy, gz, diag, out) -> float:
        """out = A u; returns u·out (the energy, used by CG)."""
        acc = self._partials(u.shape[0])
        self._run(self._K.apply, u.shape[0], u, gx, gy, gz, diag, out, acc)
        return float(acc.sum())

    def dot(self, a, b) -> float:
        """a·b over the whole grid."""
        acc = self._partials(a.shape[0])
        self._run(self._K.dot, a.shape[0], a, b, acc)
        return float(acc.sum())

    def rbgs(self, u, b, gx, gy, gz, inv_diag, color: int) -> None:
        """One red (0) or black (1) Gauss-Seidel half sweep, in place."""
        self._run(self._K.rbgs, u.shape[0], u, b, gx, gy, gz, inv_diag, color)

    def residual_restrict(self, u, b, gx, gy, gz, diag, rc) -> None:
        """rc = Pᵀ (b − A u)."""
        self._run(self._K.residual_restrict, rc.shape[0], u, b, gx, gy, gz, diag, rc)

    def scaled_prolong_add(self, u, ec, inv_diag, scale: float) -> None:
        """u += scale · P ec on conducting cells."""
        self._run(self._K.scaled_prolong_add, u.shape[0], u, ec, inv_diag, scale)

    @staticmethod
    def cg_update(x: np.ndarray, r: np.ndarray, p: np.ndarray, q: np.ndarray,
                  alpha: float) -> float:
        """x += αp; r −= αq (in place, BLAS); returns r·r."""
        from scipy.linalg import blas

        rv = r.reshape(-1)
        blas.daxpy(p.reshape(-1), x.reshape(-1), a=alpha)
        blas.daxpy(q.reshape(-1), rv, a=-alpha)
        return float(blas.ddot(rv, rv))

    @staticmethod
    def cg_direction(p: np.ndarray, z: np.ndarray, beta: float) -> None:
        """p = z + βp (in place)."""
        p *= beta
        p += z


class _Level:
    __slots__ = ("K", "b", "bh", "bl", "diag", "gx", "gy", "gz", "inv_diag", "r", "shape", "u")

    def __init__(self, gx, gy, gz, bl, bh):
        self.gx, self.gy, self.gz, self.bl, self.bh = gx, gy, gz, bl, bh
        self.shape = (gy.shape[0], gx.shape[1], gx.shape[2])
        self.K = K = _Kernels(int(np.prod(self.shape)))
        self.diag = np.empty(self.shape, dtype=np.float32)
        K.diagonal(gx, gy, gz, bl, bh, self.diag)
        with np.errstate(divide="ignore"):
            inv = np.where(self.diag > 0, 1.0 / self.diag, 0.0)
        self.inv_diag = inv.astype(np.float32)
        self.u = self.b = self.r = None

    def coarsen(self) -> _Level:
        K = self.K
        m = tuple((n + 1) // 2 for n in self.shape)
        gxc = np.zeros((max(m[0] - 1, 0), m[1], m[2]), np.float32)
        gyc = np.zeros((m[0], max(m[1] - 1, 0), m[2]), np.float32)
        gzc = np.zeros((m[0], m[1], max(m[2] - 1, 0)), np.float32)
        K.coarsen_faces(self.gx, self.gy, self.gz, gxc, gyc, gzc)
        bl = _block_sum_2d(self.bl)
        bh = _block_sum_2d(self.bh)
        return _Level(gxc, gyc, gzc, bl, bh)


def _block_sum_2d(a: np.ndarray) -> np.ndarray:
    n1, n2 = a.shape
    p = np.zeros((n1 + n1 % 2, n2 + n2 % 2), np.float32)
    p[:n1, :n2] = a
    return p.reshape(p.shape[0] // 2, 2, p.shape[1] // 2, 2).sum(axis=(1, 3))


class _Coarsest:
    def __init__(self, lev: _Level):
        import scipy.sparse as sp
        from scipy.sparse.linalg import splu

        n = int(np.prod(lev.shape))
        idx = np.arange(n).reshape(lev.shape)
        rows, cols, vals = [], [], []
        for g, sl_a, sl_b in ((lev.gx, (slice(None, -1),), (slice(1, None),)),
                              (lev.gy, (slice(None), slice(None, -1)),
                               (slice(None), slice(1, None))),
                              (lev.gz, (slice(None), slice(None), slice(None, -1)),
                               (slice(None), slice(None), slice(1, None)))):
            a, b_ = idx[sl_a].ravel(), idx[sl_b].ravel()
            v = g.ravel().astype(np.float64)
            nz = v != 0
            rows += [a[nz], b_[nz]]
            cols += [b_[nz], a[nz]]
            vals += [-v[nz], -v[nz]]
        d = lev.diag.ravel().astype(np.float64)
        d_fix = np.where(d > 0, d, 1.0)
        rows.append(idx.ravel())
        cols.append(idx.ravel())
        vals.append(d_fix)
        A = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n, n))
        self.active = (d > 0).reshape(lev.shape)
        self.lu = splu(A)
        self.shape = lev.shape

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        x = self.lu.solve(np.where(self.active, rhs, 0.0).ravel().astype(np.float64))
        x = x.reshape(self.shape)
        x[~self.active] = 0.0
        return x


class _Multigrid:
    """Symmetric V-cycle over a hierarchy of aggregated 7-point operators."""

    def __init__(self, fine: _Level, *, smooth: int = 1, scale: float = 1.0):
        self.levels = [fine]
        while np.prod(self.levels[-1].shape) > _COARSEST_CELLS and min(self.levels[-1].shape) > 1:
            self.levels.append(self.levels[-1].coarsen())
        for lev in self.levels[1:]:
            lev.u = np.zeros(lev.shape, np.float32)
            lev.b = np.zeros(lev.shape, np.float32)
        self.coarsest = _Coarsest(self.levels[-1])
        self.smooth = smooth
        self.scale = scale
        self.rhs32: np.ndarray | None = None

    def apply(self, rhs: np.ndarray, out: np.ndarray) -> None:
        """out ≈ A⁻¹ rhs (one V-cycle from zero; the fine right-hand side read as float32)."""
        if self.rhs32 is None:
            self.rhs32 = np.empty(rhs.shape, np.float32)
        self.rhs32[...] = rhs
        self._vcycle(0, self.rhs32, out)

    def _vcycle(self, lvl: int, b: np.ndarray, u: np.ndarray) -> None:
        lev = self.levels[lvl]
        if lvl == len(self.levels) - 1:
            u[...] = self.coarsest.solve(b)
            return
        K = lev.K
        g = (lev.gx, lev.gy, lev.gz)
        # red half sweep from u = 0 is u = b/d on red cells; black cells are overwritten by
        # the black half sweep, which reads only red neighbours: u = b/d everywhere will do
        np.multiply(b, lev.inv_diag, out=u)
        K.rbgs(u, b, *g, lev.inv_diag, 1)
        for _ in range(self.smooth - 1):
            K.rbgs(u, b, *g, lev.inv_diag, 0)
            K.rbgs(u, b, *g, lev.inv_diag, 1)
        nxt = self.levels[lvl + 1]
        K.residual_restrict(u, b, *g, lev.diag, nxt.b)
        self._vcycle(lvl + 1, nxt.b, nxt.u)
        K.scaled_prolong_add(u, nxt.u, lev.inv_diag, self.scale)
        for _ in range(self.smooth):
            K.rbgs(u, b, *g, lev.inv_diag, 1)
            K.rbgs(u, b, *g, lev.inv_diag, 0)


def _check_image(img: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(img)
    if a.ndim != 3:
        raise StructureError(f"{name} must be a 3D voxel image, got {a.ndim} dimension(s) "
                             f"with shape {a.shape}")
    if min(a.shape) < 1 or a.size == 0:
        raise StructureError(f"{name} is empty (shape {a.shape})")
    return a


def solve_conductivity(conductivity: np.ndarray, *, axis: int = 0, tol: float = 1e-6,
                       max_iter: int = 500, return_field: bool = False,
                       flux_tol: float = FLUX_SPREAD_THRESHOLD) -> TransportResult:
    r"""Steady-state diffusion through a voxel conductivity field; see the module docstring.

    Parameters
    ----------
    conductivity : ndarray, 3D, float >= 0
        Relative diffusivity/conductivity :math:`D/D_0` of each voxel [-] (0 = insulating).
    axis : int
        Direction of transport (0 = through the thickness for twinline's images).
    tol : float
        Relative residual ‖b − Au‖₂/‖b‖₂ at which CG stops (1e-6: tortuosity factor to ≈1e-6).
    flux_tol : float
        Largest flux spread (max − min)/mean over the planes normal to ``axis`` [-] (default
        :data:`FLUX_SPREAD_THRESHOLD`): while the spread is larger, the residual tolerance is
        tightened tenfold and CG continues (as PoreSpy's ``ftol``). ``converged`` means both
        criteria hold.
    max_iter : int
        Largest number of CG iterations.
    return_field : bool
        Also return the potential field and the axial flux at voxel centres.

    Returns
    -------
    TransportResult

    Raises
    ------
    StructureError
        If the field is not 3D, has negative or non-finite values, or is all zero.
    """
    t0 = time.perf_counter()
    cond = _check_image(conductivity, "conductivity")
    if not np.issubdtype(cond.dtype, np.number) or cond.dtype == bool:
        cond = cond.astype(np.float32)
    if not np.all(np.isfinite(cond)) or np.any(cond < 0):
        raise StructureError("conductivity must be finite and >= 0 in every voxel")
    if axis not in (0, 1, 2, -1, -2, -3):
        raise StructureError(f"axis must be 0, 1 or 2, got {axis}")
    d_mean = float(np.mean(cond, dtype=np.float64))
    if d_mean == 0.0:
        raise StructureError("the conducting phase is empty (volume fraction 0): no transport "
                             "to compute")
    c = np.ascontiguousarray(np.moveaxis(cond, axis, 0), dtype=np.float32)
    n0, n1, n2 = c.shape
    conducting = c > 0
    perc = percolating_mask(conducting, 0)
    n_cond = int(conducting.sum())
    perc_frac = float(perc.sum()) / n_cond if n_cond else 0.0
    if not perc.any():
        res = TransportResult(tau=float("inf"), d_eff_rel=0.0, volume_fraction=d_mean,
                              percolating_fraction=0.0, percolates=False, converged=True,
                              iterations=0, residual=0.0, flux_spread=0.0,
                              wall_s=time.perf_counter() - t0, tolerance=tol,
                              flux_spread_threshold=flux_tol)
        if return_field:
            nanf = np.full(cond.shape, np.nan)
            return _with_fields(res, nanf, np.zeros(cond.shape))
        return res
    c = np.where(perc, c, np.float32(0))
    K = _Kernels(c.size)
    gx = np.zeros((n0 - 1, n1, n2), np.float32)
    gy = np.zeros((n0, n1 - 1, n2), np.float32)
    gz = np.zeros((n0, n1, n2 - 1), np.float32)
    K.face_conductances(c, gx, gy, gz)
    bl = (2.0 * c[0]).astype(np.float32)
    bh = (2.0 * c[-1]).astype(np.float32)
    fine = _Level(gx, gy, gz, bl, bh)
    del c
    b = np.zeros((n0, n1, n2))
    b[-1] = bh  # u = 1 on the high face
    bnorm = float(np.linalg.norm(bh))
    # initial guess: linear profile on the percolating voxels
    prof = (np.arange(n0) + 0.5) / n0
    x = np.where(perc, prof[:, None, None], 0.0)
    del perc
    r = np.empty_like(x)
    K.apply(x, gx, gy, gz, fine.diag, r)
    np.subtract(b, r, out=r)   # r = b - Ax (b = 0 on the inert cells, where Ax = 0)
    del b
    mg = _Multigrid(fine, smooth=_SMOOTH, scale=_SCALE)
    z = np.empty(x.shape, np.float32)
    mg.apply(r, z)
    p = z.astype(np.float64)
    q = np.empty_like(x)
    rz = K.dot(r, z)
    res_norm = float(np.sqrt(np.vdot(r, r))) / bnorm
    it = 0
    fl = np.empty(n0 + 1)
    tol_now = tol
    need_direction = False   # p is z for the first step
    while True:
        while res_norm > tol_now and it < max_iter:
            if need_direction:
                mg.apply(r, z)
                rz_new = K.dot(r, z)
                K.cg_direction(p, z, rz_new / rz)
                rz = rz_new
            pq = K.apply(p, gx, gy, gz, fine.diag, q)
            alpha = rz / pq
            res_norm = float(np.sqrt(K.cg_update(x, r, p, q, alpha))) / bnorm
            it += 1
            need_direction = True
        # second criterion: the same flux through every plane normal to the axis
        K.layer_fluxes(x, gx, bl, bh, fl)
        mean_flux = float(fl.mean())
        spread = float((fl.max() - fl.min()) / mean_flux) if mean_flux > 0 else 0.0
        if spread <= flux_tol or it >= max_iter or tol_now <= _TOL_FLOOR:
            break
        tol_now = min(tol_now, res_norm) / 10.0   # tighten until the fluxes balance
    del z, q, p, r
    d_eff = mean_flux * n0 / (n1 * n2)
    converged = res_norm <= tol and spread <= flux_tol
    if not converged:
        warnings.warn(f"transport solver stopped after {it} iterations at relative residual "
                      f"{res_norm:.2e} (tol {tol:.1e}) with a flux spread of {spread:.2e} "
                      f"between the planes (threshold {flux_tol:.1e}): the tortuosity factor "
                      f"is uncertain by about the spread", ConvergenceWarning, stacklevel=2)
    tau = d_mean / d_eff if d_eff > 0 else float("inf")
    res = TransportResult(tau=float(tau), d_eff_rel=float(d_eff), volume_fraction=d_mean,
                          percolating_fraction=perc_frac, percolates=True, converged=converged,
                          iterations=it, residual=res_norm, flux_spread=spread,
                          wall_s=time.perf_counter() - t0, tolerance=tol,
                          flux_spread_threshold=flux_tol)
    if not return_field:
        return res
    active = fine.diag > 0
    u = np.where(active, x, np.nan)
    # axial flux at voxel centres: mean of the two face fluxes of each voxel
    face = np.zeros((n0 + 1, n1, n2))
    face[0] = bl * x[0]
    face[-1] = bh * (1.0 - x[-1])
    face[1:-1] = gx * (x[1:] - x[:-1])
    jc = 0.5 * (face[:-1] + face[1:]) * n0
    return _with_fields(res, np.moveaxis(u, 0, axis), np.moveaxis(jc, 0, axis))


def _with_fields(res: TransportResult, u: np.ndarray, j: np.ndarray) -> TransportResult:
    from dataclasses import replace

    return replace(res, field=u, flux=j)


def tortuosity_factor(mask: np.ndarray, *, axis: int = 0, tol: float = 1e-6,
                      max_iter: int = 500, return_field: bool = False) -> TransportResult:
    r"""Tortuosity factor τ_f = ε·D₀/D_eff of one phase (a boolean mask) along ``axis``.

    .. math:: \tau_f = \varepsilon \, D_0 / D_{\mathrm{eff}}

    with ε the phase's volume fraction of the whole box, as TauFactor reports it [1]_.

    Parameters
    ----------
    mask : ndarray of bool (or 0/1), 3D
        The conducting phase.
    axis, tol, max_iter, return_field
        See :func:`solve_conductivity`.

    Returns
    -------
    TransportResult
        ``tau`` is ``inf`` and ``percolates`` False when no cluster joins the two faces.

    Raises
    ------
    StructureError
        If the mask is not 3D or not binary, or the phase is empty.

    References
    ----------
    .. [1] Kench, Squires, Cooper, J. Open Source Softw. 8 (2023) 5358. doi:10.21105/joss.05358

    Examples
    --------
    >>> img = np.zeros((20, 8, 8), bool); img[:, 2:6, 2:6] = True
    >>> round(tortuosity_factor(img).tau, 6)
    1.0
    """
    m = _check_image(mask, "mask")
    if m.dtype != bool:
        vals = np.unique(m)
        if not np.all(np.isin(vals, (0, 1))):
            raise StructureError(f"mask must be binary (0/1 or bool), got values {vals[:6]}")
        m = m.astype(bool)
    if not m.any():
        raise StructureError("the phase is empty (volume fraction 0): its tortuosity factor is "
                             "undefined")
    return solve_conductivity(m.view(np.uint8), axis=axis, tol=tol, max_iter=max_iter,
                              return_field=return_field)
