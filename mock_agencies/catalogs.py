"""What each mock agency offers: its service catalog and its own status lifecycle, in its own words."""

from __future__ import annotations

from dataclasses import dataclass, field

from mock_agencies.population import stable_seed


@dataclass(frozen=True)
class Lifecycle:
    """An agency's statuses: where an application starts, where it may go next, and what carries a document."""

    initial: str | int
    transitions: dict[str | int, tuple[str | int, ...]]
    issued: frozenset[str | int]  # statuses at which the output document number exists

    def is_terminal(self, status: str | int) -> bool:
        return not self.transitions.get(status)

    @property
    def statuses(self) -> tuple[str | int, ...]:
        seen: list[str | int] = [self.initial]
        for src, dsts in self.transitions.items():
            for s in (src, *dsts):
                if s not in seen:
                    seen.append(s)
        return tuple(seen)


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    description: str
    category: str
    requirements: tuple[str, ...]
    output_document: str
    sla_days: int
    fee_idr: int
    legal_basis: str
    channels: tuple[str, ...]
    doc_prefix: str = field(default="DOK")


# --- Dukcapil ------------------------------------------------------------------------------------------------------

DUKCAPIL_LIFECYCLE = Lifecycle(
    initial="BARU",
    transitions={
        "BARU": ("VERIFIKASI", "PERBAIKAN", "BATAL"),
        "PERBAIKAN": ("VERIFIKASI", "BATAL"),
        "VERIFIKASI": ("PROSES", "DITOLAK"),
        "PROSES": ("TERBIT", "DITOLAK"),
    },
    issued=frozenset({"TERBIT"}),
)

_ADMINDUK = "UU 23/2006 tentang Administrasi Kependudukan s.t.d.t.d. UU 24/2013; Perpres 96/2018"
_DUKCAPIL_CHANNELS = ("langsung", "mobile", "mandiri", "elektronik")

DUKCAPIL_SERVICES: tuple[Service, ...] = (
    Service("KTPEL-BARU", "Penerbitan KTP-el Baru", "Perekaman dan penerbitan KTP-el bagi penduduk berusia 17 "
            "tahun atau sudah/pernah kawin.", "Identitas", ("KK", "SURAT_PENGANTAR_RT"), "KTP-el", 14, 0,
            _ADMINDUK, _DUKCAPIL_CHANNELS, "KTPEL"),
    Service("KTPEL-GANTI", "Penggantian KTP-el Hilang atau Rusak", "Pencetakan ulang KTP-el yang hilang atau "
            "rusak tanpa perekaman ulang.", "Identitas", ("KK", "SURAT_KEHILANGAN", "KTP_EL"), "KTP-el", 3, 0,
            _ADMINDUK, _DUKCAPIL_CHANNELS, "KTPEL"),
    Service("KK-BARU", "Penerbitan Kartu Keluarga Baru", "Penerbitan KK untuk keluarga baru atau karena pisah KK.",
            "Keluarga", ("BUKU_NIKAH", "SURAT_PENGANTAR_RT", "KK"), "Kartu Keluarga", 3, 0, _ADMINDUK,
            _DUKCAPIL_CHANNELS, "KK"),
    Service("KK-UBAH", "Perubahan Data Kartu Keluarga", "Penerbitan KK karena penambahan, pengurangan atau "
            "perubahan data anggota keluarga.", "Keluarga", ("KK", "KTP_EL", "AKTA_LAHIR"), "Kartu Keluarga", 3, 0,
            _ADMINDUK, _DUKCAPIL_CHANNELS, "KK"),
    Service("AKTA-LAHIR", "Penerbitan Akta Kelahiran", "Pencatatan kelahiran dan penerbitan kutipan akta "
            "kelahiran.", "Pencatatan Sipil", ("SURAT_KETERANGAN_LAHIR", "KK", "BUKU_NIKAH", "KTP_EL"),
            "Kutipan Akta Kelahiran", 5, 0, _ADMINDUK, _DUKCAPIL_CHANNELS, "AL"),
    Service("AKTA-MATI", "Penerbitan Akta Kematian", "Pencatatan kematian dan penerbitan kutipan akta kematian.",
            "Pencatatan Sipil", ("SURAT_KEMATIAN", "KK", "KTP_EL"), "Kutipan Akta Kematian", 5, 0, _ADMINDUK,
            _DUKCAPIL_CHANNELS, "AM"),
    Service("PINDAH-DATANG", "Surat Keterangan Pindah dan Pindah Datang", "Penerbitan SKPWNI bagi penduduk yang "
            "pindah dan pencatatan kedatangan di daerah tujuan.", "Mutasi", ("SURAT_PINDAH", "KK", "KTP_EL"),
            "SKPWNI", 3, 0, _ADMINDUK, _DUKCAPIL_CHANNELS, "SKPWNI"),
    Service("KIA", "Penerbitan Kartu Identitas Anak", "Penerbitan KIA bagi anak berusia di bawah 17 tahun.",
            "Identitas", ("AKTA_LAHIR", "KK", "PAS_FOTO"), "Kartu Identitas Anak", 3, 0,
            "Permendagri 2/2016 tentang Kartu Identitas Anak", _DUKCAPIL_CHANNELS, "KIA"),
)

# --- Licensing (OSS and regional DPMPTSP offices) ------------------------------------------------------------------

LICENSING_LIFECYCLE = Lifecycle(
    initial="SUBMITTED",
    transitions={
        "SUBMITTED": ("VERIFICATION", "REVISION_REQUIRED", "CANCELLED"),
        "REVISION_REQUIRED": ("VERIFICATION", "CANCELLED"),
        "VERIFICATION": ("PROCESSING", "REJECTED"),
        "PROCESSING": ("APPROVED", "REJECTED"),
        "APPROVED": ("ISSUED",),
    },
    issued=frozenset({"ISSUED"}),
)

_RBA = "PP 5/2021 tentang Penyelenggaraan Perizinan Berusaha Berbasis Risiko"

OSS_SERVICES: tuple[Service, ...] = (
    Service("NIB", "Nomor Induk Berusaha", "Pendaftaran nomor identitas berusaha bagi setiap pelaku usaha.",
            "registration", ("KTP_EL", "NPWP"), "NIB", 1, 0, _RBA, ("online", "walk_in"), "NIB"),
    Service("NIB-UPDATE", "Perubahan Data NIB", "Perubahan data usaha yang melekat pada NIB.", "registration",
            ("NIB", "KTP_EL", "AKTA_PENDIRIAN"), "NIB", 1, 0, _RBA, ("online", "walk_in"), "NIB"),
    Service("SS-MR", "Sertifikat Standar Risiko Menengah Rendah", "Sertifikat standar berupa pernyataan mandiri "
            "untuk kegiatan usaha berisiko menengah rendah.", "business_permit", ("NIB", "NPWP", "KKPR"),
            "Sertifikat Standar", 3, 0,
            _RBA, ("online",), "SS"),
    Service("SS-MT", "Sertifikat Standar Risiko Menengah Tinggi", "Sertifikat standar yang diverifikasi "
            "kementerian untuk kegiatan usaha berisiko menengah tinggi.", "business_permit", ("NIB", "NPWP", "KKPR",
            "PERSETUJUAN_LINGKUNGAN"), "Sertifikat Standar", 14, 0, _RBA, ("online", "walk_in"), "SS"),
    Service("IZIN-USAHA", "Izin Usaha Risiko Tinggi", "Izin usaha untuk kegiatan berisiko tinggi.",
            "business_permit", ("NIB", "NPWP", "KKPR", "AMDAL", "SERTIFIKAT_TANAH"), "Izin", 30, 0, _RBA,
            ("online", "walk_in"), "IZ"),
    Service("PB-UMKU", "Perizinan Berusaha Untuk Menunjang Kegiatan Usaha", "Perizinan penunjang seperti izin edar "
            "produk.", "supporting_permit", ("NIB", "SERTIFIKAT_STANDAR"), "PB UMKU", 14, 0,
            _RBA, ("online",), "UMKU"),
    Service("KKPR", "Kesesuaian Kegiatan Pemanfaatan Ruang", "Konfirmasi bahwa lokasi usaha sesuai dengan "
            "rencana tata ruang.", "spatial", ("NIB", "SERTIFIKAT_TANAH", "PETA_LOKASI"), "KKPR", 20, 0,
            "PP 21/2021 tentang Penyelenggaraan Penataan Ruang", ("online", "walk_in"), "KKPR"),
    Service("PL-SPPL", "Persetujuan Lingkungan (SPPL)", "Surat pernyataan pengelolaan lingkungan untuk "
            "kegiatan berdampak rendah.", "environment", ("NIB", "KKPR"), "SPPL", 1, 0,
            "PP 22/2021 tentang Penyelenggaraan Perlindungan dan Pengelolaan Lingkungan Hidup", ("online",), "SPPL"),
    Service("LKPM", "Laporan Kegiatan Penanaman Modal", "Laporan kegiatan penanaman modal setiap triwulan.",
            "reporting",
            ("NIB",), "Tanda Terima LKPM", 5, 0, "Peraturan BKPM 5/2021", ("online",), "LKPM"),
    Service("PENCABUTAN", "Pencabutan Perizinan Berusaha", "Pencabutan perizinan berusaha atas permohonan sendiri.",
            "registration", ("NIB", "KTP_EL", "SURAT_PERMOHONAN"), "Surat Pencabutan", 5, 0, _RBA,
            ("online", "walk_in"), "CBT"),
)

_REGIONAL_TEMPLATES: tuple[Service, ...] = (
    Service("PBG", "Persetujuan Bangunan Gedung", "Persetujuan sebelum membangun atau mengubah bangunan gedung.",
            "building", ("KTP_EL", "SERTIFIKAT_TANAH", "GAMBAR_TEKNIS", "NPWP"), "PBG", 28, 1_500_000,
            "PP 16/2021 tentang Bangunan Gedung", ("walk_in", "online"), "PBG"),
    Service("SLF", "Sertifikat Laik Fungsi", "Sertifikat bahwa bangunan gedung yang selesai dibangun laik fungsi.",
            "building",
            ("PBG", "KTP_EL", "LAPORAN_PENGAWASAN"), "SLF", 10, 500_000, "PP 16/2021 tentang Bangunan Gedung",
            ("walk_in", "online"), "SLF"),
    Service("REKLAME", "Izin Penyelenggaraan Reklame", "Izin pemasangan papan reklame dan iklan luar ruang.",
            "advertising", ("KTP_EL", "NPWP", "NIB", "DESAIN_REKLAME"), "Izin Reklame", 7, 250_000,
            "Peraturan Daerah tentang Penyelenggaraan Reklame", ("walk_in", "online", "mobile"), "RKL"),
    Service("SIP-DOKTER", "Surat Izin Praktik Dokter", "Izin praktik dokter di fasilitas pelayanan kesehatan tertentu.",
            "health", ("KTP_EL", "STR", "PAS_FOTO", "SURAT_KETERANGAN_SEHAT"), "SIP", 5, 0,
            "UU 17/2023 tentang Kesehatan", ("walk_in", "online"), "SIP"),
    Service("SIP-BIDAN", "Surat Izin Praktik Bidan", "Izin praktik bidan.", "health",
            ("KTP_EL", "STR", "PAS_FOTO"), "SIPB", 5, 0, "UU 17/2023 tentang Kesehatan", ("walk_in", "online"),
            "SIPB"),
    Service("APOTEK", "Izin Apotek", "Izin penyelenggaraan apotek.", "health",
            ("NIB", "KTP_EL", "SIPA", "DENAH_BANGUNAN"), "Izin Apotek", 12, 0, "Permenkes 14/2021",
            ("walk_in", "online"), "APT"),
    Service("TDUP", "Tanda Daftar Usaha Pariwisata", "Pendaftaran usaha pariwisata.", "tourism",
            ("NIB", "KTP_EL", "NPWP"), "TDUP", 3, 0, "Permenparekraf 4/2021", ("walk_in", "online", "self_service"),
            "TDUP"),
    Service("IUMK", "Izin Usaha Mikro Kecil", "Izin sederhana bagi usaha mikro dan kecil.", "business_permit",
            ("KTP_EL", "KK", "SURAT_PENGANTAR_RT"), "IUMK", 1, 0, "PP 7/2021 tentang Kemudahan UMKM",
            ("walk_in", "mobile", "self_service", "online"), "IUMK"),
)


def regional_services(tenant: str, regency_name: str) -> tuple[Service, ...]:
    """A regional office's catalog: a deterministic selection of the usual services, with its own local fees."""
    h = stable_seed("catalog", tenant)
    out: list[Service] = []
    for k, tpl in enumerate(_REGIONAL_TEMPLATES):
        if k >= 4 and (h >> k) & 1 and len(out) >= 6:
            continue  # not every office offers every service
        fee = tpl.fee_idr
        if fee:
            fee = fee + ((h >> (8 + 4 * k)) % 8) * 50_000
        legal = tpl.legal_basis
        if legal.startswith("Peraturan Daerah"):
            legal = f"{legal} {regency_name}"
        out.append(Service(tpl.code, tpl.name, tpl.description, tpl.category, tpl.requirements,
                           tpl.output_document, tpl.sla_days, fee, legal, tpl.channels, tpl.doc_prefix))
    return tuple(out)


# --- Tax (DJP) -----------------------------------------------------------------------------------------------------

TAX_LIFECYCLE = Lifecycle(
    initial=10,
    transitions={10: (20, 25, 90), 25: (20, 90), 20: (30, 50), 30: (40, 50), 40: (60,)},
    issued=frozenset({60}),
)
TAX_STATUS_LABELS = {10: "diterima", 20: "verifikasi", 25: "perlu perbaikan", 30: "diproses", 40: "disetujui",
                     50: "ditolak", 60: "selesai", 90: "dibatalkan"}

_KUP = "UU 6/1983 tentang KUP s.t.d.t.d. UU 7/2021 (HPP); PMK 81/2024"

TAX_SERVICES: tuple[Service, ...] = (
    Service("NPWP-01", "Pendaftaran NPWP", "Pendaftaran Nomor Pokok Wajib Pajak orang pribadi dan badan.",
            "PENDAFTARAN", ("KTP_EL", "KK"), "Kartu NPWP", 1, 0, _KUP, ("TATAP_MUKA", "DARING"), "NPWP"),
    Service("EFIN-01", "Aktivasi EFIN", "Aktivasi EFIN (nomor identitas pelaporan pajak secara elektronik) untuk "
            "menyampaikan SPT dan memakai layanan pajak daring.",
            "LAYANAN_ELEKTRONIK",
            ("KTP_EL", "NPWP"), "EFIN", 1, 0, "PER-04/PJ/2020", ("TATAP_MUKA", "DARING", "MOBIL_PAJAK"), "EFIN"),
    Service("SKF-01", "Surat Keterangan Fiskal", "Keterangan status kepatuhan wajib pajak.", "KETERANGAN",
            ("NPWP", "KTP_EL"), "SKF", 3, 0, "PMK 81/2024", ("DARING",), "SKF"),
    Service("SKB-PPH", "Surat Keterangan Bebas PPh", "Pembebasan dari pemotongan atau pemungutan PPh.",
            "KETERANGAN", ("NPWP", "SURAT_PERMOHONAN", "LAPORAN_KEUANGAN"), "SKB PPh", 5, 0, _KUP,
            ("TATAP_MUKA", "DARING"), "SKB"),
    Service("PKP-01", "Pengukuhan Pengusaha Kena Pajak", "Pengukuhan sebagai PKP untuk keperluan PPN.",
            "PENDAFTARAN", ("NPWP", "NIB", "KTP_EL", "SURAT_KETERANGAN_DOMISILI"), "Surat Pengukuhan PKP", 10, 0,
            "UU 8/1983 tentang PPN s.t.d.t.d. UU 7/2021 (HPP)", ("TATAP_MUKA", "DARING"), "PKP"),
    Service("UBAH-DATA", "Perubahan Data Wajib Pajak", "Perubahan identitas, alamat atau data usaha wajib pajak.",
            "PENDAFTARAN", ("NPWP", "KTP_EL", "KK"), "SKT", 5, 0, _KUP, ("TATAP_MUKA", "DARING", "MOBIL_PAJAK"),
            "SKT"),
)


# --- Provincial licensing office (DPMPTSP Provinsi Jawa Tengah) --------------------------------------------------

PROVINSI_LIFECYCLE = Lifecycle(
    initial="DIAJUKAN",
    transitions={
        "DIAJUKAN": ("VERIFIKASI", "PERLU PERBAIKAN", "DIBATALKAN"),
        "PERLU PERBAIKAN": ("VERIFIKASI", "DIBATALKAN"),
        "VERIFIKASI": ("DALAM PROSES", "DITOLAK"),
        "DALAM PROSES": ("DISETUJUI", "DITOLAK"),
        "DISETUJUI": ("IZIN TERBIT",),
    },
    issued=frozenset({"IZIN TERBIT"}),
)
# Served now and then instead of the real status, and in none of the office's documentation.
PROVINSI_RARE_STATUS = "DITANGGUHKAN"

_PERDA_JATENG = "Perda Prov. Jawa Tengah 1/2022; PP 5/2021"

PROVINSI_SERVICES: tuple[Service, ...] = (
    Service("IZ-TAMBANG", "Izin Usaha Pertambangan Batuan", "Izin usaha pertambangan komoditas batuan.",
            "SUMBER DAYA ALAM", ("KTP_EL", "NIB", "NPWP"), "IUP Batuan", 14, 0, _PERDA_JATENG,
            ("LANGSUNG", "DARING"), "IUP"),
    Service("IZ-SIPA", "Izin Pengusahaan Air Tanah", "Izin pengambilan dan pemanfaatan air tanah.",
            "SUMBER DAYA ALAM", ("KTP_EL", "NIB"), "SIPA", 10, 0, _PERDA_JATENG, ("DARING",), "SIPA"),
    Service("IZ-LKSA", "Tanda Daftar Lembaga Kesejahteraan Sosial", "Pendaftaran LKS lintas kabupaten/kota.",
            "SOSIAL", ("KTP_EL", "SURAT_PERMOHONAN"), "Tanda Daftar LKS", 7, 0, _PERDA_JATENG,
            ("LANGSUNG", "DARING", "MPP"), "LKS"),
    Service("IZ-TRAYEK", "Izin Trayek Angkutan Antarkota Dalam Provinsi", "Izin trayek AKDP.",
            "PERHUBUNGAN", ("KTP_EL", "NIB", "SURAT_PERMOHONAN"), "Izin Trayek AKDP", 12, 150_000,
            _PERDA_JATENG, ("LANGSUNG", "MPP"), "TRY"),
)
