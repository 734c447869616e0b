/// The fixed vocabulary of the synthetic CRM world: regions and cities, segments, age
/// bands, tiers, categories, channels — and how they shape behaviour.
enum CRMWorld {
    static let firstYear = 2022
    static let years = 4

    static let regions: [(name: String, weight: Double, cities: [String])] = [
        ("Seoul", 30, ["Gangnam", "Mapo", "Songpa", "Jongno", "Yongsan", "Seocho"]),
        ("Gyeonggi", 25, ["Suwon", "Seongnam", "Goyang", "Yongin"]),
        ("Busan", 12, ["Haeundae", "Busanjin", "Suyeong", "Saha"]),
        ("Incheon", 10, ["Yeonsu", "Namdong", "Bupyeong"]),
        ("Daegu", 9, ["Suseong", "Dalseo", "Jung"]),
        ("Daejeon", 7, ["Yuseong", "Seo"]),
        ("Gwangju", 7, ["Buk", "Gwangsan"]),
    ]

    static let segments: [(name: String, weight: Double, value: Double)] = [
        ("Consumer", 70, 1.0), ("Small Business", 20, 1.6), ("Corporate", 10, 3.0),
    ]

    static let ageBands: [(name: String, weight: Double)] = [
        ("18-24", 12), ("25-34", 22), ("35-44", 24), ("45-54", 20), ("55-64", 14), ("65+", 8),
    ]

    /// Tiers by rank of expected customer value: top 5% VIP, next 15% Gold, next 30% Silver.
    static let tiers: [(name: String, share: Double)] = [("VIP", 0.05), ("Gold", 0.15), ("Silver", 0.30), ("Bronze", 0.50)]

    static let familyNames = ["Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim",
                              "Han", "Oh", "Seo", "Shin", "Kwon", "Hwang", "Ahn", "Song", "Yoo", "Hong"]
    static let givenNames = ["Minjun", "Seoyeon", "Jiho", "Hayoon", "Doyun", "Jiwoo", "Seojun", "Haeun", "Yejun", "Subin",
                             "Eunwoo", "Jiyu", "Siwoo", "Chaewon", "Juwon", "Yuna", "Hyunwoo", "Minseo", "Jihoon", "Dahyun"]

    /// Categories with subcategories (unique across categories), brands, price range in
    /// dollars, typical quantity, and the category customers of this one also buy.
    static let categories: [(name: String, subcategories: [String], brands: [String], price: (Double, Double), bulk: Int, partner: String, weight: Double)] = [
        ("Electronics", ["Phones", "Audio", "TV & Video", "Cameras"], ["Hanbit", "Daewon", "Sorin", "Nexa"], (40, 1800), 1, "Computers", 14),
        ("Computers", ["Laptops", "Monitors", "PC Accessories"], ["Nexa", "Kodex", "Hanbit", "Altis"], (25, 2400), 1, "Electronics", 10),
        ("Books", ["Fiction", "Business", "Children's Books", "Comics"], ["Minumsa", "Changbi", "Gimm-Young", "Sigongsa"], (8, 45), 2, "Toys", 9),
        ("Toys", ["Board Games", "Dolls", "Building Blocks"], ["Playon", "Toyzone", "Brixel", "Happy Day"], (10, 150), 2, "Baby", 8),
        ("Baby", ["Diapers", "Feeding", "Strollers"], ["Little Star", "Momi", "Bebe", "Agi"], (10, 600), 3, "Toys", 7),
        ("Home", ["Kitchen", "Furniture", "Bedding"], ["Casa", "Namu", "Ondol", "Hansam"], (15, 900), 1, "Garden", 10),
        ("Garden", ["Garden Tools", "Plants"], ["Greenery", "Soop", "Casa", "Namu"], (5, 250), 2, "Home", 5),
        ("Fashion", ["Women", "Men", "Shoes", "Bags"], ["Mode K", "Urbano", "Line", "Sonnet"], (15, 350), 1, "Beauty", 13),
        ("Beauty", ["Skincare", "Makeup", "Fragrance"], ["Glowy", "Seoul Skin", "Amore", "Dew"], (8, 160), 2, "Fashion", 10),
        ("Sports", ["Fitness", "Outdoor", "Cycling"], ["Runon", "Peak", "Velo", "Altis"], (10, 700), 1, "Grocery", 7),
        ("Grocery", ["Snacks", "Beverages", "Fresh Food"], ["Nongshim Farm", "Daily", "Harvest", "Fresh Co"], (2, 35), 4, "Sports", 7),
    ]

    /// Channels with their type.
    static let channels: [(name: String, type: String)] = [
        ("Store", "Offline"), ("Outlet", "Offline"),
        ("Web", "Online"), ("Mobile App", "Online"), ("Marketplace", "Online"),
        ("Call Center", "Direct"), ("Direct Mail", "Direct"), ("Sales Rep", "Direct"),
    ]

    /// Channel preference per age band, in `channels` order.
    static let channelByAge: [[Double]] = [
        [2.0, 1.0, 3.0, 6.0, 3.0, 0.2, 0.1, 0.1],
        [2.5, 1.0, 4.0, 5.0, 3.0, 0.3, 0.2, 0.3],
        [3.0, 1.5, 4.0, 3.0, 2.0, 0.6, 0.4, 0.5],
        [4.0, 2.0, 3.0, 2.0, 1.5, 1.2, 0.8, 0.6],
        [5.0, 2.0, 2.0, 1.0, 1.0, 2.0, 1.5, 0.6],
        [5.0, 1.5, 0.8, 0.4, 0.4, 3.0, 2.5, 0.5],
    ]

    /// Channel preference multipliers per segment, in `channels` order.
    static let channelBySegment: [[Double]] = [
        [1, 1, 1, 1, 1, 1, 1, 0.3],
        [1, 0.8, 1.5, 0.8, 1, 1.5, 1, 3],
        [0.6, 0.3, 1.5, 0.5, 0.5, 2, 1, 8],
    ]

    /// Category preference multipliers per segment, in `categories` order.
    static let categoryBySegment: [[Double]] = [
        [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        [1.2, 2, 1.2, 0.5, 0.5, 1.5, 1, 0.7, 0.6, 0.8, 1],
        [1.5, 3, 1.5, 0.3, 0.3, 2, 0.5, 0.5, 0.4, 0.6, 0.8],
    ]

    /// Sales volume by month (year-end peak) and by weekday (Mon … Sun).
    static let monthWeight: [Double] = [0.85, 0.8, 0.9, 0.95, 1.0, 0.95, 0.95, 1.0, 1.0, 1.05, 1.35, 1.6]
    static let weekdayWeight: [Double] = [0.9, 0.95, 0.95, 1.0, 1.05, 1.15, 1.1]
}
