"""Country profiles: name parts, cities, streets and ports from which actors are built.

Names are assembled from parts so that no real company is named by accident; cities,
regions, postal-code shapes and UN/LOCODE ports are real so addresses and routes look right.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    """A city with its region, postal-code prefix and main sea port (UN/LOCODE)."""

    name: str
    region: str
    postal: str
    port: str


@dataclass(frozen=True)
class CountryProfile:
    """How company names and addresses look in one country."""

    iso2: str
    name: str
    brands: tuple[str, ...]
    legal: tuple[str, ...]  # templates: {brand} {industry}
    streets: tuple[str, ...]  # templates: {n} number, {w} street word
    street_words: tuple[str, ...]
    cities: tuple[City, ...]
    postal_len: int
    land_border: bool = False


def _c(spec: str) -> tuple[City, ...]:
    return tuple(City(*part.split(":")) for part in spec.split(";"))


_ASIA_STREETS = ("No. {n} {w} Road", "{n} {w} Street", "Lot {n}, {w} Industrial Zone")

COUNTRIES: dict[str, CountryProfile] = {
    p.iso2: p
    for p in (
        CountryProfile(
            "CN",
            "China",
            (
                "Hengyuan",
                "Jinsheng",
                "Huafeng",
                "Xinda",
                "Tianrun",
                "Hongda",
                "Yongxin",
                "Ruifeng",
                "Baolong",
                "Kaixuan",
                "Longsheng",
                "Dongfang",
                "Haitian",
                "Zhongxing",
                "Jiahe",
                "Fuda",
                "Shengtai",
                "Mingyang",
                "Huayi",
                "Guotai",
                "Xinhua",
                "Jinlong",
                "Sanxing",
                "Wanli",
                "Hongxiang",
                "Dingsheng",
            ),
            (
                "{city} {brand} {industry} Co., Ltd.",
                "{brand} {industry} Co., Ltd.",
                "{city} {brand} {industry} Co. Ltd",
            ),
            ("No. {n} {w} Road", "No. {n} {w} Avenue", "{n} {w} Road, {w} Industrial Park"),
            (
                "Renmin",
                "Jiefang",
                "Zhongshan",
                "Jianshe",
                "Xingfu",
                "Huancheng",
                "Binhai",
                "Changjiang",
                "Yingbin",
                "Kaifa",
                "Gongye",
                "Jinqiao",
            ),
            _c(
                "Shanghai:Shanghai:200:CNSHA;Ningbo:Zhejiang:315:CNNGB;"
                "Shenzhen:Guangdong:518:CNYTN;Guangzhou:Guangdong:510:CNCAN;"
                "Qingdao:Shandong:266:CNTAO;Xiamen:Fujian:361:CNXMN;Tianjin:Tianjin:300:CNTSN;"
                "Suzhou:Jiangsu:215:CNSHA;Wuxi:Jiangsu:214:CNSHA;Hangzhou:Zhejiang:310:CNNGB;"
                "Shaoxing:Zhejiang:312:CNNGB;Dongguan:Guangdong:523:CNYTN;"
                "Foshan:Guangdong:528:CNCAN;Nantong:Jiangsu:226:CNSHA;Yiwu:Zhejiang:322:CNNGB;"
                "Changzhou:Jiangsu:213:CNSHA;Dalian:Liaoning:116:CNDLC;Jinan:Shandong:250:CNTAO"
            ),
            6,
        ),
        CountryProfile(
            "VN",
            "Vietnam",
            (
                "Hoang Phat",
                "Minh Anh",
                "Thanh Cong",
                "Phu Thanh",
                "Dong A",
                "Hai Long",
                "An Phuoc",
                "Tan Thanh",
                "Viet Hung",
                "Sao Mai",
                "Hoa Binh",
                "Nam Viet",
            ),
            (
                "{brand} {industry} Company Limited",
                "{brand} {industry} Joint Stock Company",
                "{brand} {industry} Co., Ltd.",
            ),
            _ASIA_STREETS,
            ("Nguyen Hue", "Le Loi", "Tran Hung Dao", "Hung Vuong", "Quang Trung", "Song Than"),
            _c(
                "Ho Chi Minh City:Ho Chi Minh:700:VNSGN;Binh Duong:Binh Duong:750:VNSGN;"
                "Dong Nai:Dong Nai:810:VNCMT;Hai Phong:Hai Phong:180:VNHPH;"
                "Bac Ninh:Bac Ninh:790:VNHPH;Da Nang:Da Nang:550:VNDAD"
            ),
            6,
        ),
        CountryProfile(
            "MY",
            "Malaysia",
            ("Sinar", "Maju", "Perdana", "Hartamas", "Gemilang", "Cahaya", "Mutiara", "Setia"),
            ("{brand} {industry} Sdn. Bhd.", "{brand} {industry} Industries Sdn Bhd"),
            ("No. {n}, Jalan {w}", "Lot {n}, Jalan {w}, Kawasan Perindustrian"),
            ("Perusahaan", "Industri", "Teknologi", "Bukit", "Sungai", "Kebun"),
            _c(
                "Klang:Selangor:41:MYPKG;Shah Alam:Selangor:40:MYPKG;Johor Bahru:Johor:80:MYTPP;"
                "Penang:Pulau Pinang:10:MYPEN;Ipoh:Perak:30:MYPKG"
            ),
            5,
        ),
        CountryProfile(
            "TH",
            "Thailand",
            ("Siam", "Chao Phraya", "Sukhothai", "Rattana", "Thanakorn", "Srisuk", "Pattana"),
            (
                "{brand} {industry} (Thailand) Co., Ltd.",
                "{brand} {industry} Co., Ltd.",
                "{brand} {industry} Public Company Limited",
            ),
            ("{n} Moo 4, {w} Road", "{n} Soi {w}, Sukhumvit Road"),
            ("Bangna-Trad", "Rama II", "Sukhumvit", "Phahonyothin", "Theparak"),
            _c(
                "Samut Sakhon:Samut Sakhon:74:THLCH;Chonburi:Chonburi:20:THLCH;"
                "Bangkok:Bangkok:10:THBKK;Rayong:Rayong:21:THLCH;Songkhla:Songkhla:90:THSGZ"
            ),
            5,
        ),
        CountryProfile(
            "ID",
            "Indonesia",
            ("Karya", "Abadi", "Makmur", "Sentosa", "Prima", "Cahaya", "Mulia", "Sejahtera"),
            ("PT {brand} {industry}", "PT {brand} {industry} Indonesia"),
            ("Jl. {w} No. {n}", "Jl. Raya {w} Km {n}"),
            ("Sudirman", "Gatot Subroto", "Industri", "Cikarang", "Raya Bogor"),
            _c(
                "Jakarta:DKI Jakarta:10:IDTPP;Bekasi:Jawa Barat:17:IDTPP;"
                "Surabaya:Jawa Timur:60:IDSUB;Semarang:Jawa Tengah:50:IDSRG;"
                "Medan:Sumatera Utara:20:IDBLW"
            ),
            5,
        ),
        CountryProfile(
            "KH",
            "Cambodia",
            ("Angkor", "Mekong", "Golden", "Royal", "Tonle", "Bayon", "Lucky"),
            ("{brand} {industry} (Cambodia) Co., Ltd.", "{brand} {industry} Co., Ltd."),
            ("No. {n}, Street {w}", "Lot {n}, {w} Special Economic Zone"),
            ("598", "271", "Veng Sreng", "Manhattan", "Sihanoukville"),
            _c(
                "Phnom Penh:Phnom Penh:12:KHKOS;Sihanoukville:Preah Sihanouk:18:KHKOS;"
                "Bavet:Svay Rieng:20:KHKOS"
            ),
            5,
        ),
        CountryProfile(
            "BD",
            "Bangladesh",
            ("Bengal", "Padma", "Meghna", "Jamuna", "Rupsha", "Karnaphuli", "Sonali"),
            ("{brand} {industry} Ltd.", "{brand} {industry} Limited"),
            ("Plot {n}, {w} Road", "House {n}, {w} Avenue"),
            ("Dhaka-Aricha", "Tongi", "Ashulia", "Savar EPZ", "Gazipur"),
            _c(
                "Dhaka:Dhaka:12:BDCGP;Gazipur:Dhaka:17:BDCGP;Chattogram:Chattogram:41:BDCGP;"
                "Narayanganj:Dhaka:14:BDCGP"
            ),
            4,
        ),
        CountryProfile(
            "IN",
            "India",
            ("Shree", "Ganesh", "Laxmi", "Sagar", "Kaveri", "Jai Bharat", "Surya", "Om Sai"),
            (
                "{brand} {industry} Pvt. Ltd.",
                "{brand} {industry} Private Limited",
                "{brand} {industry} Ltd.",
            ),
            ("Plot No. {n}, {w} Road", "{n}, {w} Marg", "Survey No. {n}, {w} GIDC"),
            ("MIDC", "Mahatma Gandhi", "Nehru", "Station", "Ring"),
            _c(
                "Tiruppur:Tamil Nadu:641:INMAA;Mumbai:Maharashtra:400:INNSA;"
                "Ahmedabad:Gujarat:380:INMUN;Ludhiana:Punjab:141:INNSA;Panipat:Haryana:132:INNSA;"
                "Bhadohi:Uttar Pradesh:221:INNSA;Chennai:Tamil Nadu:600:INMAA"
            ),
            6,
        ),
        CountryProfile(
            "PK",
            "Pakistan",
            ("Indus", "Faisal", "Al-Noor", "Karim", "Shalimar", "Ravi", "Punjab"),
            ("{brand} {industry} (Pvt.) Ltd.", "{brand} {industry} Mills Ltd."),
            ("Plot {n}, {w} Road", "{n}-A, {w} Industrial Estate"),
            ("Sheikhupura", "Jaranwala", "SITE", "Korangi", "Sargodha"),
            _c(
                "Faisalabad:Punjab:38:PKKHI;Karachi:Sindh:74:PKKHI;Lahore:Punjab:54:PKKHI;"
                "Sialkot:Punjab:51:PKKHI"
            ),
            5,
        ),
        CountryProfile(
            "TR",
            "Turkey",
            ("Anadolu", "Ege", "Marmara", "Yildiz", "Ozkan", "Bosphorus", "Kartal"),
            ("{brand} {industry} San. ve Tic. A.S.", "{brand} {industry} Ltd. Sti."),
            ("{w} Cad. No:{n}", "{w} Sok. No:{n}, OSB"),
            ("Ataturk", "Cumhuriyet", "Istiklal", "Organize Sanayi", "Gazi"),
            _c(
                "Istanbul:Istanbul:34:TRIST;Izmir:Izmir:35:TRIZM;Bursa:Bursa:16:TRGEM;"
                "Denizli:Denizli:20:TRIZM;Gaziantep:Gaziantep:27:TRMER"
            ),
            5,
        ),
        CountryProfile(
            "MX",
            "Mexico",
            ("Grupo Azteca", "Del Norte", "Sierra", "Bajio", "Monterrey", "Pacifico", "Maya"),
            ("{brand} {industry} S.A. de C.V.", "Industrias {brand} S.A. de C.V."),
            ("Av. {w} {n}", "Calle {w} No. {n}, Parque Industrial"),
            ("Juarez", "Hidalgo", "Reforma", "Constitucion", "Industrial"),
            _c(
                "Monterrey:Nuevo Leon:64:MXNLD;Tijuana:Baja California:22:MXTIJ;"
                "Ciudad Juarez:Chihuahua:32:MXCJS;Guadalajara:Jalisco:44:MXZLO;"
                "Saltillo:Coahuila:25:MXNLD;Culiacan:Sinaloa:80:MXMZT"
            ),
            5,
            land_border=True,
        ),
        CountryProfile(
            "KR",
            "Korea",
            ("Daesung", "Hanil", "Seojin", "Dongil", "Samhwa", "Woojin", "Kumho"),
            ("{brand} {industry} Co., Ltd.",),
            ("{n}, {w}-ro", "{n}, {w}-gil"),
            ("Sandan", "Gongdan", "Haean", "Jungang", "Seobu"),
            _c(
                "Busan:Busan:46:KRPUS;Ulsan:Ulsan:44:KRUSN;Incheon:Incheon:21:KRINC;"
                "Changwon:Gyeongsangnam-do:51:KRPUS"
            ),
            5,
        ),
        CountryProfile(
            "TW",
            "Taiwan",
            ("Chenghua", "Yuanli", "Taiming", "Hsinchu", "Dahan", "Jinfeng", "Kuotai"),
            ("{brand} {industry} Co., Ltd.", "{brand} {industry} Corp."),
            ("No. {n}, {w} Rd.", "No. {n}, Ln. 12, {w} St."),
            ("Zhongshan", "Minsheng", "Jianguo", "Gongye", "Chenggong"),
            _c(
                "Taichung:Taichung:40:TWTXG;Kaohsiung:Kaohsiung:80:TWKHH;Taoyuan:Taoyuan:33:TWKEL;"
                "Tainan:Tainan:70:TWKHH"
            ),
            5,
        ),
        CountryProfile(
            "JP",
            "Japan",
            ("Yamato", "Sakura", "Fujimoto", "Takeda", "Hokuto", "Asahi", "Nishimura"),
            ("{brand} {industry} Co., Ltd.", "{brand} {industry} K.K."),
            ("{n}-3 {w}-cho", "{n}-1-2 {w}"),
            ("Minato", "Chuo", "Honmachi", "Sakae", "Kita"),
            _c(
                "Yokohama:Kanagawa:220:JPYOK;Nagoya:Aichi:450:JPNGO;Osaka:Osaka:530:JPOSA;"
                "Kobe:Hyogo:650:JPUKB"
            ),
            7,
        ),
        CountryProfile(
            "DE",
            "Germany",
            ("Becker", "Schneider", "Hoffmann", "Krause", "Vogel", "Lindner", "Brandt"),
            ("{brand} {industry} GmbH", "{brand} {industry} GmbH & Co. KG"),
            ("{w}strasse {n}", "{w}weg {n}"),
            ("Industrie", "Haupt", "Bahnhof", "Hafen", "Werk"),
            _c(
                "Hamburg:Hamburg:20:DEHAM;Stuttgart:Baden-Wuerttemberg:70:DEHAM;"
                "Bremen:Bremen:28:DEBRV;Munich:Bayern:80:DEHAM;Duesseldorf:Nordrhein-Westfalen:40:DEHAM"
            ),
            5,
        ),
        CountryProfile(
            "IT",
            "Italy",
            ("Rossi", "Bianchi", "Conti", "Moretti", "Galli", "Fontana", "Ricci"),
            ("{brand} {industry} S.p.A.", "{brand} {industry} S.r.l."),
            ("Via {w} {n}", "Viale {w} {n}"),
            ("Roma", "Garibaldi", "dell'Industria", "Mazzini", "Verdi"),
            _c(
                "Milan:Lombardia:20:ITGOA;Genoa:Liguria:16:ITGOA;Naples:Campania:80:ITNAP;"
                "Prato:Toscana:59:ITLIV;Parma:Emilia-Romagna:43:ITSPE"
            ),
            5,
        ),
        CountryProfile(
            "CA",
            "Canada",
            ("Maple", "Northern", "Laurentian", "Prairie", "Cascadia", "Great Lakes", "Boreal"),
            ("{brand} {industry} Inc.", "{brand} {industry} Ltd."),
            ("{n} {w} Street", "{n} {w} Boulevard"),
            ("King", "Industrial", "Queen", "Main", "Commerce"),
            _c(
                "Toronto:Ontario:M5V:CATOR;Montreal:Quebec:H3B:CAMTR;"
                "Vancouver:British Columbia:V6B:CAVAN;Windsor:Ontario:N9A:CATOR"
            ),
            6,
            land_border=True,
        ),
        CountryProfile(
            "HK",
            "Hong Kong",
            ("Pacific", "Asia", "Everbright", "Harbour", "Kowloon", "Victoria", "Oriental"),
            ("{brand} {industry} Limited", "{brand} {industry} (HK) Co., Limited"),
            ("Unit {n}, {w} Centre", "Room {n}, {w} Building"),
            ("Kwun Tong", "Tsim Sha Tsui", "Wing On", "Nathan", "Lai Chi Kok"),
            _c("Hong Kong:Hong Kong:999:HKHKG;Kowloon:Hong Kong:999:HKHKG"),
            6,
        ),
        CountryProfile(
            "SG",
            "Singapore",
            ("Lion", "Straits", "Marina", "Jurong", "Temasek", "Orchid"),
            ("{brand} {industry} Pte. Ltd.",),
            ("{n} {w} Road", "{n} {w} Avenue #05-12"),
            ("Jurong", "Tuas", "Pioneer", "Changi", "Ubi"),
            _c("Singapore:Singapore:6:SGSIN"),
            6,
        ),
    )
}

# Where eastern-China mills that buy Xinjiang inputs sit: the textile and solar belt.
EASTERN_CN_REGIONS = ("Jiangsu", "Zhejiang", "Guangdong", "Shandong")

# Ports used to lade transshipped goods in a third country (shifted routes).
THIRD_COUNTRY_PORTS = ("SGSIN", "MYPKG", "MYTPP", "HKHKG", "VNCMT", "THLCH", "KRPUS")

# CBP port codes: West-coast ports take most trans-Pacific cargo, East/Gulf most European.
US_PORTS_PACIFIC = ("2704", "2709", "3001", "3002", "2809", "2904")
US_PORTS_ATLANTIC = ("1001", "4601", "1703", "1401", "5301", "1601", "1303", "2002")
US_PORTS_AIR = ("4701", "2720", "3901", "5206")
US_PORTS_LAND = {"MX": ("2304", "2402", "2506", "2604"), "CA": ("3801", "0901", "0712", "3004")}
