"""Shared vocabularies: requirement documents, service channels and service categories.

A citizen enters a requirement once and every service can reuse it, so requirement codes come from one list. To add
a document, add it here (and regenerate the schemas with ``mpp-bus schemas write``).

Categories are one list for the whole catalog, so a citizen filters "Kesehatan" once rather than ``health`` at one
agency and ``KESEHATAN`` at another. Each adapter maps its agency's own category codes onto these in its
``vocabulary.yaml``; an agency category missing from that table rejects the service (skippable, named in
quarantine) rather than filing it under ``lainnya``: a service misfiled quietly would stay misfiled, while a reject
is seen at once and fixed with one line of data.
"""

from __future__ import annotations

from enum import StrEnum


class Document(StrEnum):
    KTP_EL = "KTP_EL"
    KK = "KK"
    KIA = "KIA"
    AKTA_LAHIR = "AKTA_LAHIR"
    AKTA_KEMATIAN = "AKTA_KEMATIAN"
    AKTA_NIKAH = "AKTA_NIKAH"
    SURAT_PENGANTAR_RT_RW = "SURAT_PENGANTAR_RT_RW"
    SURAT_KETERANGAN_LAHIR = "SURAT_KETERANGAN_LAHIR"
    SURAT_KETERANGAN_KEMATIAN = "SURAT_KETERANGAN_KEMATIAN"
    SURAT_PINDAH = "SURAT_PINDAH"
    SURAT_KEHILANGAN = "SURAT_KEHILANGAN"
    PAS_FOTO = "PAS_FOTO"
    NPWP = "NPWP"
    NIB = "NIB"
    AKTA_PENDIRIAN = "AKTA_PENDIRIAN"
    SERTIFIKAT_TANAH = "SERTIFIKAT_TANAH"
    GAMBAR_TEKNIS = "GAMBAR_TEKNIS"
    PBG = "PBG"
    STR = "STR"
    IJAZAH = "IJAZAH"
    REKOMENDASI_ORGANISASI_PROFESI = "REKOMENDASI_ORGANISASI_PROFESI"
    LAPORAN_KEUANGAN = "LAPORAN_KEUANGAN"
    SPT = "SPT"
    SURAT_KUASA = "SURAT_KUASA"
    SURAT_PERNYATAAN = "SURAT_PERNYATAAN"
    DOKUMEN_LINGKUNGAN = "DOKUMEN_LINGKUNGAN"
    KKPR = "KKPR"
    SERTIFIKAT_STANDAR = "SERTIFIKAT_STANDAR"
    PETA_LOKASI = "PETA_LOKASI"
    SURAT_PERMOHONAN = "SURAT_PERMOHONAN"
    LAPORAN_PENGAWASAN = "LAPORAN_PENGAWASAN"
    DESAIN_REKLAME = "DESAIN_REKLAME"
    SURAT_KETERANGAN_SEHAT = "SURAT_KETERANGAN_SEHAT"
    SIPA = "SIPA"
    SURAT_KETERANGAN_DOMISILI = "SURAT_KETERANGAN_DOMISILI"

    @property
    def label(self) -> str:
        return DOCUMENT_LABELS.get(self, self.value.replace("_", " ").title())


DOCUMENT_LABELS: dict[Document, str] = {
    Document.KTP_EL: "KTP elektronik",
    Document.KK: "Kartu Keluarga",
    Document.KIA: "Kartu Identitas Anak",
    Document.AKTA_LAHIR: "Akta kelahiran",
    Document.AKTA_KEMATIAN: "Akta kematian",
    Document.AKTA_NIKAH: "Akta/buku nikah",
    Document.SURAT_PENGANTAR_RT_RW: "Surat pengantar RT/RW",
    Document.SURAT_KETERANGAN_LAHIR: "Surat keterangan lahir",
    Document.SURAT_KETERANGAN_KEMATIAN: "Surat keterangan kematian",
    Document.SURAT_PINDAH: "Surat keterangan pindah",
    Document.SURAT_KEHILANGAN: "Surat keterangan kehilangan",
    Document.PAS_FOTO: "Pas foto",
    Document.NPWP: "NPWP",
    Document.NIB: "Nomor Induk Berusaha",
    Document.AKTA_PENDIRIAN: "Akta pendirian usaha",
    Document.SERTIFIKAT_TANAH: "Sertifikat tanah",
    Document.GAMBAR_TEKNIS: "Gambar teknis bangunan",
    Document.PBG: "Persetujuan Bangunan Gedung",
    Document.STR: "Surat Tanda Registrasi",
    Document.IJAZAH: "Ijazah",
    Document.REKOMENDASI_ORGANISASI_PROFESI: "Rekomendasi organisasi profesi",
    Document.LAPORAN_KEUANGAN: "Laporan keuangan",
    Document.SPT: "SPT Tahunan",
    Document.SURAT_KUASA: "Surat kuasa",
    Document.SURAT_PERNYATAAN: "Surat pernyataan",
    Document.DOKUMEN_LINGKUNGAN: "Dokumen lingkungan",
    Document.KKPR: "Kesesuaian Kegiatan Pemanfaatan Ruang",
    Document.SERTIFIKAT_STANDAR: "Sertifikat standar",
    Document.PETA_LOKASI: "Peta lokasi",
    Document.SURAT_PERMOHONAN: "Surat permohonan",
    Document.LAPORAN_PENGAWASAN: "Laporan pengawasan",
    Document.DESAIN_REKLAME: "Desain reklame",
    Document.SURAT_KETERANGAN_SEHAT: "Surat keterangan sehat",
    Document.SIPA: "Surat Izin Praktik Apoteker",
    Document.SURAT_KETERANGAN_DOMISILI: "Surat keterangan domisili",
}


class Channel(StrEnum):
    """The four MPP service ecosystems."""

    DIRECT = "direct"
    MOBILE = "mobile"
    SELF_SERVICE = "self_service"
    ELECTRONIC = "electronic"

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self]


CHANNEL_LABELS: dict[Channel, str] = {
    Channel.DIRECT: "layanan langsung",
    Channel.MOBILE: "layanan bergerak",
    Channel.SELF_SERVICE: "layanan mandiri",
    Channel.ELECTRONIC: "layanan elektronik",
}


class Category(StrEnum):
    """Service categories of the catalog: the agencies' services plus the usual counters of an MPP."""

    KEPENDUDUKAN = "kependudukan"
    PERIZINAN_USAHA = "perizinan_usaha"
    PERIZINAN_BANGUNAN = "perizinan_bangunan"
    LINGKUNGAN_HIDUP = "lingkungan_hidup"
    KESEHATAN = "kesehatan"
    PERPAJAKAN = "perpajakan"
    PENDIDIKAN = "pendidikan"
    SOSIAL = "sosial"
    TRANSPORTASI = "transportasi"
    KETENAGAKERJAAN = "ketenagakerjaan"
    PERTANAHAN = "pertanahan"
    KEIMIGRASIAN = "keimigrasian"
    KEPOLISIAN = "kepolisian"
    KEAGAMAAN = "keagamaan"
    JAMINAN_SOSIAL = "jaminan_sosial"
    LAINNYA = "lainnya"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS: dict[Category, str] = {
    Category.KEPENDUDUKAN: "Kependudukan dan pencatatan sipil",
    Category.PERIZINAN_USAHA: "Perizinan berusaha",
    Category.PERIZINAN_BANGUNAN: "Bangunan gedung dan tata ruang",
    Category.LINGKUNGAN_HIDUP: "Lingkungan hidup dan sumber daya alam",
    Category.KESEHATAN: "Kesehatan",
    Category.PERPAJAKAN: "Perpajakan",
    Category.PENDIDIKAN: "Pendidikan",
    Category.SOSIAL: "Sosial",
    Category.TRANSPORTASI: "Perhubungan dan transportasi",
    Category.KETENAGAKERJAAN: "Ketenagakerjaan",
    Category.PERTANAHAN: "Pertanahan",
    Category.KEIMIGRASIAN: "Keimigrasian",
    Category.KEPOLISIAN: "Kepolisian",
    Category.KEAGAMAAN: "Keagamaan",
    Category.JAMINAN_SOSIAL: "Jaminan sosial",
    Category.LAINNYA: "Lainnya",
}


def category_label(code: str) -> str:
    """The Indonesian label of a stored category code; a code from before the vocabulary is shown as it is."""
    try:
        return Category(code).label
    except ValueError:
        return code


# A service's output document is free text from the agency's catalog ("Kartu NPWP", "KTP-el"); these are the names
# under which agencies publish the documents a citizen can hold and reuse, so "data diisi sekali" can match them.
_OUTPUT_DOCUMENTS: dict[str, Document] = {
    "NIB": Document.NIB,
    "NOMOR INDUK BERUSAHA": Document.NIB,
    "NPWP": Document.NPWP,
    "KARTU NPWP": Document.NPWP,
    "KTP EL": Document.KTP_EL,
    "KTP ELEKTRONIK": Document.KTP_EL,
    "KK": Document.KK,
    "KARTU KELUARGA": Document.KK,
    "KIA": Document.KIA,
    "KARTU IDENTITAS ANAK": Document.KIA,
    "PBG": Document.PBG,
    "SIPA": Document.SIPA,
    "KKPR": Document.KKPR,
    "SERTIFIKAT STANDAR": Document.SERTIFIKAT_STANDAR,
    "KUTIPAN AKTA KELAHIRAN": Document.AKTA_LAHIR,
    "KUTIPAN AKTA KEMATIAN": Document.AKTA_KEMATIAN,
}


def output_document_code(name: str | None) -> Document | None:
    """The shared vocabulary's code of a service's output document name, or None when it is not a reusable one."""
    if not name:
        return None
    return _OUTPUT_DOCUMENTS.get(" ".join(name.upper().replace("_", " ").replace("-", " ").split()))
