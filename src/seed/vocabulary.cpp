#include "seed/vocabulary.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>

namespace emporium::seed::vocab {
namespace {

// ================================================================================================
// The tables. Lists are '|'-separated and ordered from the most to the least common entry.
// ================================================================================================

struct TopData {
    std::string_view slug;
    std::string_view name;
    std::string_view brands;
    std::string_view phrases;
};

struct MidData {
    std::string_view top;  // slug of the top-level category
    std::string_view slug;
    std::string_view uses;  // what the products are for: "… made for {u}"
    std::string_view name;
    std::string_view phrases;
};

struct LeafData {
    std::string_view mid;  // slug of the subcategory
    std::string_view slug;
    std::string_view name;
    std::string_view sku;
    std::int64_t weight;
    std::int64_t median_cents;
    std::int64_t sigma16;
    NameStyle style;
    std::uint32_t traits;
    std::string_view nouns;
    std::string_view attributes;
    std::string_view phrases;
};

constexpr NameStyle kDevice = NameStyle::kDevice;
constexpr NameStyle kGoods = NameStyle::kGoods;
constexpr NameStyle kApparel = NameStyle::kApparel;
constexpr NameStyle kFood = NameStyle::kFood;
constexpr NameStyle kBook = NameStyle::kBook;
constexpr NameStyle kMedia = NameStyle::kMedia;

constexpr std::array kTops{
    TopData{"electronics",
            "Electronics",
            "Norvik|Voltara|Kestrel|Lumenar|Orbitek|Sonora|Brightwave|Zentro|Quanta|Helix|Arcturus|Vantage|"
            "Pulsar|Corvex|Teknos|Harbor|Stellan|Maxwell|Auralis|Cirrus",
            "Every unit is tested before it ships.|Comes with a two-year warranty and free repairs.|Recycle "
            "your old device with us for free."},
    TopData{"home-kitchen",
            "Home & Kitchen",
            "Halden|Oakhurst|Copperleaf|Brightfield|Linden|Hearthstone|Nordhem|Willowby|Ashgrove|Kitchenry|"
            "Marlow|Greystone|Birchwood|Saltmarsh|Casa Verde|Fennel",
            "Designed in our studio and tested in real homes.|Packed in plastic-free packaging.|Backed by a "
            "five-year guarantee."},
    TopData{"fashion",
            "Fashion",
            "Linnea|Marlowe|Northbound|Fenwick|Silverline|Thistle|Kinsale|Ravello|Wren|Oakes|Brisa|Hollis|"
            "Calder|Juniper|Saltwater|Tamsin|Everhart",
            "Free returns within 30 days.|Made in small batches in audited factories.|Sizes run true; see "
            "the size guide for measurements."},
    TopData{"sports-outdoors",
            "Sports & Outdoors",
            "Summit|Ridgeline|Trailcraft|Alpenglow|Peakform|Kinetic|Stridewell|Cascadia|Basecamp|Tidewater|"
            "Velocity|Granite|Highland|Boreal|Driftline",
            "Tested by our athletes in real conditions.|Repairs and spare parts available for years.|Made "
            "with recycled materials where possible."},
    TopData{"books",
            "Books",
            "Lantern Press|Harbor House|Northlight Books|Meridian Press|Foxglove|Blue Heron|Paperlark|"
            "Stonebridge|Juniper Books|Oldfield|Riverrun|Clearwater|Hollow Oak",
            "Printed on responsibly sourced paper.|Available as a hardcover, paperback and e-book.|A "
            "perfect gift for readers of all ages."},
    TopData{"music-film",
            "Music & Film",
            "Fretwell|Harmonia|Sonata|Tempo|Cadenza|Arden|Ravensong|Silverstring|Crescendo|Kingsley|Vireo|"
            "Songbird",
            "Carefully packed and shipped in protective packaging.|Loved by musicians and collectors "
            "alike."},
    TopData{"toys-games",
            "Toys & Games",
            "Playwell|Tinkerly|Brightbox|Funfield|Wonderkin|Little Oak|Jumble|Kiteworks|Marbleway|Pip|"
            "Starling|Puzzlewood|Bramble",
            "Meets EU and US toy safety standards.|Made from sustainably sourced materials.|Recommended "
            "for ages three and up."},
    TopData{"beauty-health",
            "Beauty & Health",
            "Luma|Verdelle|Aurelia|Botanica|Solace|Clarity Labs|Skinwise|Mira|Petal|Dewdrop|Nordic Bloom|"
            "Velour|Purely|Calmwell|Vitanord",
            "Dermatologist tested.|Never tested on animals.|Free from parabens and sulphates."},
    TopData{"grocery",
            "Grocery",
            "Greenacre|Hillside Farm|Golden Field|Old Mill|Tidemark|Bramblewood|Maple Hollow|Sunhaven|Copper "
            "Kettle|True North|Wild Orchard|Stone Ground|Fable|Little Harvest|Bluebell",
            "Best before date at least six months from delivery.|Recyclable packaging.|Store in a cool, dry "
            "place."},
    TopData{"pet-supplies",
            "Pet Supplies",
            "Barkwell|Whiskerly|Happy Paws|Furrow|Kibble|Hound House|Tabby|Fetchly|Nosework|Cosy Critter|"
            "Meadowpet|Trusty",
            "Approved by our panel of vets.|Free from artificial preservatives.|Tried and tested by real "
            "pets."},
    TopData{"garden-diy",
            "Garden & DIY",
            "Ironwood|Toolcraft|Greenthumb|Hartley|Forge|Bramley|Oakmere|Rootstock|Boltline|Hedgerow|Anvil|"
            "Redbrick",
            "Comes with a three-year warranty.|Spare parts available for ten years.|Tested to professional "
            "standards."},
};

constexpr std::array kMids{
    // Electronics
    MidData{"electronics",
            "phones-tablets",
            "everyday use|travel|the commute|busy days|students",
            "Phones & Tablets",
            "Designed for life on the move.|Tested by our team through a year of daily use."},
    MidData{"electronics",
            "audio",
            "music lovers|the commute|travel|working from home|parties",
            "Audio",
            "Tuned by our sound engineers for rich bass and clear vocals.|Pairs instantly with phones, "
            "tablets and laptops."},
    MidData{"electronics",
            "computers",
            "working from home|students|gaming|home offices|content creators",
            "Computers",
            "Built for long days at the desk.|Works with Windows, macOS and Linux."},
    MidData{"electronics",
            "cameras-drones",
            "travel|content creators|weddings|family holidays|wildlife photography",
            "Cameras & Drones",
            "Made for photographers and filmmakers of every level.|Light enough to carry all day."},
    MidData{"electronics",
            "tv-home-cinema",
            "movie nights|gaming|sports fans|family evenings|small living rooms",
            "TV & Home Cinema",
            "Turns the living room into a cinema.|Big sound and a bright picture bring films to life."},
    MidData{"electronics",
            "wearables",
            "running|everyday use|the gym|sleep tracking|outdoor adventures",
            "Wearables",
            "Tracks steps, sleep and heart rate around the clock.|Syncs with the companion app on any "
            "phone."},
    // Home & Kitchen
    MidData{"home-kitchen",
            "cookware",
            "everyday cooking|family dinners|weekend baking|busy kitchens|entertaining guests",
            "Cookware",
            "Works on gas, electric and induction hobs.|Oven safe and easy to clean."},
    MidData{"home-kitchen",
            "kitchen-appliances",
            "busy mornings|small kitchens|family dinners|healthy eating|entertaining guests",
            "Kitchen Appliances",
            "Simple controls and a compact footprint.|Removable parts go straight in the dishwasher."},
    MidData{"home-kitchen",
            "furniture",
            "small apartments|home offices|family homes|new homes|reading corners",
            "Furniture",
            "Arrives flat-packed with clear instructions and every tool you need.|Solid construction that "
            "stands up to daily use."},
    MidData{"home-kitchen",
            "bed-bath",
            "restful nights|guest rooms|family homes|hot sleepers|lazy Sundays",
            "Bed & Bath",
            "Soft against the skin and easy to care for.|Tested for harmful substances by an independent "
            "lab."},
    MidData{"home-kitchen",
            "lighting-decor",
            "cosy evenings|living rooms|bedrooms|home offices|new homes",
            "Lighting & Decor",
            "Adds warmth and character to any room.|Pairs well with the rest of the collection."},
    // Fashion
    MidData{"fashion",
            "mens-clothing",
            "everyday wear|the office|weekends|cold weather|travel",
            "Men's Clothing",
            "A modern cut with room to move.|Pre-washed so it keeps its size and shape."},
    MidData{"fashion",
            "womens-clothing",
            "everyday wear|the office|weekends|special occasions|holidays",
            "Women's Clothing",
            "Flattering fit, easy care.|Designed to layer through the seasons."},
    MidData{"fashion",
            "shoes",
            "everyday wear|long walks|running|cold weather|holidays",
            "Shoes",
            "A cushioned footbed for all-day comfort.|True to size; go half a size up for thick socks."},
    MidData{"fashion",
            "accessories",
            "everyday wear|travel|special occasions|the office|gifts",
            "Accessories",
            "Finished with care, down to the last stitch.|Gift wrapping available at checkout."},
    // Sports & Outdoors
    MidData{"sports-outdoors",
            "fitness",
            "home workouts|the gym|yoga classes|strength training|recovery days",
            "Fitness",
            "Builds strength and stamina at home or in the gym.|Stores away neatly when the workout is "
            "done."},
    MidData{"sports-outdoors",
            "camping-hiking",
            "hiking|camping trips|backpacking|festivals|mountain weekends",
            "Camping & Hiking",
            "Packs small and light for long days on the trail.|Tested in wind, rain and cold."},
    MidData{"sports-outdoors",
            "cycling",
            "commuting|weekend rides|mountain trails|long-distance touring|city streets",
            "Cycling",
            "Built for city streets, gravel tracks and long weekend rides.|Fits most bikes without special "
            "tools."},
    MidData{"sports-outdoors",
            "team-racket-sports",
            "team training|club matches|school sports|back gardens|weekend games",
            "Team & Racket Sports",
            "Match quality for clubs, schools and back gardens.|Approved for competition play."},
    MidData{"sports-outdoors",
            "water-sports",
            "the beach|swimming pools|lakes and rivers|summer holidays|surf lessons",
            "Water Sports",
            "Resists salt water and chlorine.|Rinse in fresh water after use."},
    // Books
    MidData{"books",
            "fiction",
            "long evenings|book clubs|holiday reading|the commute|rainy weekends",
            "Fiction",
            "Vivid characters and a story that stays with you.|Fans of the series will love this new "
            "chapter."},
    MidData{"books",
            "non-fiction",
            "curious minds|students|book clubs|gift giving|armchair travellers",
            "Non-Fiction",
            "Thoroughly researched and easy to read.|Includes notes, an index and a list of further "
            "reading."},
    MidData{"books",
            "childrens-books",
            "bedtime|young readers|reading aloud|classrooms|gift giving",
            "Children's Books",
            "Perfect for reading aloud together.|Sturdy pages for little hands."},
    // Music & Film
    MidData{"music-film",
            "musical-instruments",
            "beginners|practice at home|live gigs|recording at home|music lessons",
            "Musical Instruments",
            "Set up by our technicians before it ships.|A great choice for beginners and seasoned "
            "players."},
    MidData{"music-film",
            "records-cds",
            "music lovers|collectors|lazy Sundays|record players|gift giving",
            "Records & CDs",
            "Mastered for the best possible sound.|Includes a download code and printed lyrics."},
    MidData{"music-film",
            "film-tv",
            "movie nights|family evenings|collectors|binge weekends|film buffs",
            "Film & TV",
            "Region-free and ready to watch.|Packed with extras and behind-the-scenes features."},
    // Toys & Games
    MidData{"toys-games",
            "games-puzzles",
            "family game night|rainy days|parties|road trips|game clubs",
            "Games & Puzzles",
            "Easy to learn, hard to master.|Fun for two to six players."},
    MidData{"toys-games",
            "construction-science",
            "young builders|curious kids|rainy days|classrooms|birthday gifts",
            "Construction & Science",
            "Builds creativity, patience and problem solving.|Step-by-step instructions included."},
    MidData{"toys-games",
            "dolls-plush",
            "bedtime|imaginative play|birthday gifts|toddlers|road trips",
            "Dolls & Plush",
            "Soft, safe and washable.|Every detail is designed for small hands."},
    MidData{"toys-games",
            "outdoor-play",
            "the garden|summer holidays|the park|birthday parties|sunny weekends",
            "Outdoor Play",
            "Gets kids outside and moving.|Built to survive muddy gardens."},
    MidData{"toys-games",
            "video-games",
            "gaming nights|family fun|online play|retro fans|travel",
            "Video Games",
            "Plays on the latest consoles and computers.|Online and local multiplayer."},
    // Beauty & Health
    MidData{"beauty-health",
            "skincare",
            "daily routines|sensitive skin|dry winters|busy mornings|self-care evenings",
            "Skincare",
            "Absorbs quickly with no greasy finish.|Suitable for all skin types."},
    MidData{"beauty-health",
            "hair-care",
            "daily routines|curly hair|busy mornings|salon-style blowouts|the gym bag",
            "Hair Care",
            "Salon results at home.|Safe for coloured hair."},
    MidData{"beauty-health",
            "makeup",
            "everyday looks|evenings out|special occasions|busy mornings|travel",
            "Makeup",
            "Long-wearing colour that stays put all day.|Shades for every skin tone."},
    MidData{"beauty-health",
            "fragrance",
            "evenings out|everyday wear|special occasions|gift sets|travel",
            "Fragrance",
            "Long-lasting, with notes that change through the day.|Bottled in recycled glass."},
    MidData{"beauty-health",
            "health-wellness",
            "daily routines|the gym bag|busy mornings|travel|healthy habits",
            "Health & Wellness",
            "Made in a certified facility.|Ask your doctor first if you are pregnant or taking "
            "medication."},
    // Grocery
    MidData{"grocery",
            "coffee-tea",
            "breakfast|slow mornings|the office|afternoon breaks|coffee lovers",
            "Coffee & Tea",
            "Roasted and packed within days.|Sourced directly from growers we know."},
    MidData{"grocery",
            "pantry",
            "home cooking|weeknight dinners|a well-stocked pantry|dinner parties|batch cooking",
            "Pantry",
            "A cupboard staple for quick weeknight meals.|Made with simple ingredients you can "
            "pronounce."},
    MidData{"grocery",
            "snacks-sweets",
            "quick snacks|lunch boxes|movie nights|picnics|sharing",
            "Snacks & Sweets",
            "A treat for the desk drawer or the lunch box.|No artificial colours or flavours."},
    MidData{"grocery",
            "breakfast",
            "breakfast|busy mornings|brunch|lunch boxes|weekend mornings",
            "Breakfast",
            "A good start to the day.|Ready in minutes."},
    MidData{"grocery",
            "drinks",
            "hot days|picnics|lunch boxes|the gym bag|parties",
            "Drinks",
            "Best served chilled.|Recyclable cans and bottles."},
    // Pet Supplies
    MidData{"pet-supplies",
            "dogs",
            "puppies|long walks|training sessions|senior dogs|busy owners",
            "Dogs",
            "Suitable for dogs of all sizes.|Tough enough for enthusiastic chewers."},
    MidData{"pet-supplies",
            "cats",
            "indoor cats|kittens|senior cats|busy owners|lazy afternoons",
            "Cats",
            "Designed with curious cats in mind.|Easy to clean and resists odours."},
    MidData{"pet-supplies",
            "small-pets-fish",
            "first pets|small spaces|busy owners|family homes|beginners",
            "Small Pets & Fish",
            "Everything for a happy, healthy habitat.|Easy to set up and maintain."},
    // Garden & DIY
    MidData{"garden-diy",
            "power-tools",
            "weekend projects|home repairs|the workshop|renovations|flat-pack furniture",
            "Power Tools",
            "One battery fits every tool in the range.|A brushless motor runs cooler and lasts longer."},
    MidData{"garden-diy",
            "hand-tools",
            "home repairs|the workshop|weekend projects|first homes|the car boot",
            "Hand Tools",
            "Drop-forged steel for a lifetime of use.|Comfortable grips for long jobs."},
    MidData{"garden-diy",
            "garden",
            "small gardens|patios|allotments|balconies|summer evenings",
            "Garden",
            "Weatherproof and made to stay outdoors.|Ideal for beds, borders and containers."},
};

constexpr std::uint32_t kC = kColour;
constexpr std::uint32_t kM = kMaterial;
constexpr std::uint32_t kF = kFabric;
constexpr std::uint32_t kS = kStyle;
constexpr std::uint32_t kX = kFlavour;
constexpr std::uint32_t kR = kScent;
constexpr std::uint32_t kT = kTheme;
constexpr std::uint32_t kO = kOrigin;
constexpr std::uint32_t kE = kTech;
constexpr std::uint32_t kW = kWood;

// One leaf per block (clang-format would put every field on its own line).
// clang-format off
constexpr std::array kLeaves{
    // ---- Electronics / Phones & Tablets
    LeafData{"phones-tablets", "smartphones", "Smartphones", "SPH", 8, 45'000, 12, kDevice, kC | kE,
     "Smartphone|Android Phone|Foldable Phone|Camera Phone|Rugged Phone",
     "unlocked|dual-sim|5G|flagship|compact|budget|waterproof|refurbished",
     "The {a} design fits comfortably in one hand.|A triple camera system takes sharp photos even at night.|"
     "The OLED display stays readable in bright sunlight.|"
     "Face unlock and a fingerprint sensor keep it secure."},
    LeafData{"phones-tablets", "tablets", "Tablets", "TAB", 4, 32'000, 12, kDevice, kC | kE,
     "Tablet|Drawing Tablet|Kids Tablet|E-Reader|Tablet Keyboard Case",
     "lightweight|10-inch|stylus-ready|high-resolution|glare-free|LTE|kid-friendly|slim",
     "A bright {a} screen makes reading and sketching a pleasure.|"
     "Stream, read and take notes on one lightweight device.|"
     "Parental controls and sturdy corners make it family friendly."},
    LeafData{"phones-tablets", "phone-cases", "Phone Cases", "PCS", 6, 1'800, 8, kGoods, kC,
     "Phone Case|Wallet Case|Clear Case|Rugged Case|Leather Case",
     "shockproof|slim|magnetic|transparent|anti-yellowing|card-holding|drop-tested|grippy",
     "Raised edges protect the screen and camera from drops.|"
     "Precise cutouts keep every button and port easy to reach.|"
     "A slim shell adds protection without the bulk."},
    LeafData{"phones-tablets", "chargers-cables", "Chargers & Cables", "CHG", 6, 2'000, 10, kDevice, kC | kE,
     "USB-C Charger|Wireless Charger|Power Bank|Charging Cable|Car Charger",
     "fast-charging|braided|multi-port|magnetic|compact|travel-ready|high-capacity|certified",
     "Charges a phone to half in about thirty minutes.|"
     "Built-in protection guards against overheating and short circuits.|"
     "A braided jacket survives thousands of bends."},
    // ---- Electronics / Audio
    LeafData{"audio", "headphones", "Headphones", "HPH", 6, 12'000, 14, kDevice, kC | kE,
     "Wireless Headphones|Noise-Cancelling Headphones|Studio Headphones|Over-Ear Headphones|Kids Headphones",
     "wireless|noise-cancelling|foldable|over-ear|closed-back|lightweight|hi-res|bluetooth",
     "Memory foam ear cushions stay comfortable through a long flight.|"
     "Active noise cancelling shuts out traffic and office chatter.|"
     "Up to forty hours of playback on a single charge.|"
     "The {a} design folds flat into the included travel case."},
    LeafData{"audio", "earbuds", "Earbuds", "EBD", 6, 8'000, 12, kDevice, kC | kE,
     "Wireless Earbuds|Sport Earbuds|Noise-Cancelling Earbuds|Open-Ear Earbuds",
     "true-wireless|sweat-resistant|noise-cancelling|compact|secure-fit|low-latency|bluetooth|waterproof",
     "The pocket-sized charging case adds three more charges.|"
     "Soft silicone tips in three sizes seal out noise.|Touch controls handle calls, tracks and volume."},
    LeafData{"audio", "speakers", "Speakers", "SPK", 5, 9'000, 14, kDevice, kC | kE,
     "Bluetooth Speaker|Smart Speaker|Portable Speaker|Bookshelf Speakers|Party Speaker",
     "portable|waterproof|wireless|voice-controlled|rugged|room-filling|stereo|compact",
     "Room-filling sound with deep, punchy bass.|Pair two units for true stereo sound.|"
     "A rugged shell shrugs off rain, sand and drops."},
    LeafData{"audio", "turntables-hifi", "Turntables & Hi-Fi", "HIF", 2, 28'000, 14, kDevice, kW | kE,
     "Turntable|Record Player|Stereo Amplifier|Phono Preamp|CD Player",
     "belt-drive|direct-drive|bluetooth|vintage-style|hi-fi|audiophile|automatic|analog",
     "A heavy platter and precise tonearm keep every record on pitch.|"
     "A built-in phono stage connects straight to powered speakers.|"
     "The {m} plinth damps vibration for a cleaner sound."},
    // ---- Electronics / Computers
    LeafData{"computers", "laptops", "Laptops", "LAP", 5, 90'000, 12, kDevice, kC | kE,
     "Laptop|Ultrabook|Gaming Laptop|Chromebook|2-in-1 Laptop",
     "lightweight|thin|high-performance|touchscreen|backlit|long-lasting|fanless|14-inch",
     "An all-day battery and a {a} aluminium body make it easy to carry.|"
     "The backlit keyboard is quiet and comfortable for long sessions.|"
     "A sharp display with accurate colours suits photo editing."},
    LeafData{"computers", "monitors", "Monitors", "MON", 3, 26'000, 12, kDevice, kE,
     "Monitor|Gaming Monitor|Ultrawide Monitor|Portable Monitor|4K Monitor",
     "curved|ultrawide|high-refresh|flicker-free|adjustable|27-inch|borderless|HDR",
     "A height-adjustable stand tilts, swivels and pivots.|"
     "Low blue light and flicker-free backlighting are easy on the eyes.|"
     "One USB-C cable carries video, data and power."},
    LeafData{"computers", "keyboards-mice", "Keyboards & Mice", "KBD", 4, 4'500, 12, kDevice, kC | kE,
     "Mechanical Keyboard|Wireless Mouse|Keyboard and Mouse Set|Gaming Mouse|Ergonomic Keyboard",
     "mechanical|wireless|ergonomic|backlit|silent|programmable|compact|rechargeable",
     "Tactile switches are rated for fifty million keystrokes.|"
     "Connect up to three devices and switch with one key.|"
     "The {a} shape keeps wrists in a natural position."},
    LeafData{"computers", "storage", "Storage", "STO", 3, 8'000, 14, kDevice, kE,
     "External SSD|Portable Hard Drive|USB Flash Drive|Memory Card|Network Storage",
     "portable|rugged|encrypted|high-speed|1TB|2TB|shockproof|compact",
     "Transfers a full-length movie in seconds.|Hardware encryption keeps files private.|"
     "Rubber bumpers protect your files from everyday drops."},
    // ---- Electronics / Cameras & Drones
    LeafData{"cameras-drones", "cameras", "Cameras", "CAM", 3, 60'000, 16, kDevice, kE,
     "Mirrorless Camera|Action Camera|Instant Camera|Compact Camera|Webcam",
     "mirrorless|waterproof|full-frame|compact|vlogging|weather-sealed|4K|instant",
     "Fast autofocus locks onto eyes and keeps them sharp.|"
     "A flip-out screen makes vlogging and selfies easy.|"
     "Weather sealing keeps you shooting through rain and dust."},
    LeafData{"cameras-drones", "camera-lenses", "Camera Lenses", "LNS", 2, 40'000, 14, kDevice, 0,
     "Prime Lens|Zoom Lens|Macro Lens|Wide-Angle Lens|Telephoto Lens",
     "fast|wide-angle|telephoto|stabilised|weather-sealed|lightweight|portrait|macro",
     "A bright aperture blurs backgrounds into soft bokeh.|Quiet focus motors suit video as well as stills.|"
     "Special glass elements keep edges sharp and colours true."},
    LeafData{"cameras-drones", "drones", "Drones", "DRN", 2, 50'000, 14, kDevice, kE,
     "Camera Drone|Mini Drone|FPV Drone|Folding Drone",
     "foldable|GPS|obstacle-avoiding|long-range|beginner-friendly|4K|lightweight|stabilised",
     "GPS return-to-home brings it back when the battery runs low.|"
     "A three-axis gimbal keeps footage steady in the wind.|Folds down to the size of a water bottle."},
    // ---- Electronics / TV & Home Cinema
    LeafData{"tv-home-cinema", "televisions", "Televisions", "TVS", 3, 70'000, 14, kDevice, kE,
     "Smart TV|OLED TV|4K TV|QLED TV|Outdoor TV",
     "4K|55-inch|65-inch|OLED|HDR|smart|slim|wall-mountable",
     "Dolby Vision and HDR10 deliver bright highlights and inky blacks.|"
     "A game mode cuts input lag for consoles.|Voice search finds shows across every streaming app."},
    LeafData{"tv-home-cinema", "projectors", "Projectors", "PRJ", 1, 45'000, 14, kDevice, kE,
     "Home Projector|Portable Projector|Short-Throw Projector|Mini Projector",
     "portable|short-throw|1080p|4K|quiet|bright|smart|battery-powered",
     "Projects a picture up to 120 inches across.|"
     "Automatic keystone correction squares the image in seconds.|"
     "A quiet fan keeps the soundtrack in the spotlight."},
    LeafData{"tv-home-cinema", "soundbars", "Soundbars", "SBR", 2, 25'000, 12, kDevice, kC | kE,
     "Soundbar|Soundbar with Subwoofer|Dolby Atmos Soundbar|Compact Soundbar",
     "wireless|surround|slim|voice-enhancing|wall-mountable|bluetooth|compact|immersive",
     "Dialogue enhancement makes voices clear at any volume.|A wireless subwoofer adds cinema-style rumble.|"
     "One HDMI cable connects it to the TV."},
    // ---- Electronics / Wearables
    LeafData{"wearables", "smartwatches", "Smartwatches", "SWT", 3, 22'000, 12, kDevice, kC | kE,
     "Smartwatch|GPS Smartwatch|Kids Smartwatch|Hybrid Smartwatch",
     "waterproof|GPS|always-on|lightweight|rugged|stainless|LTE|slim",
     "Built-in GPS maps runs and rides without a phone.|An always-on display shows the time at a glance.|"
     "Contactless payments work straight from the wrist."},
    LeafData{"wearables", "fitness-trackers", "Fitness Trackers", "FTR", 2, 7'000, 10, kDevice, kC | kE,
     "Fitness Tracker|Activity Band|Heart Rate Monitor|Smart Ring",
     "slim|waterproof|lightweight|sleep-tracking|long-battery|swimproof|comfortable|minimal",
     "A week of battery life between charges.|Sleep stages, stress and recovery in one simple score.|"
     "Swimproof to fifty metres."},
    // ---- Home & Kitchen / Cookware
    LeafData{"cookware", "pots-pans", "Pots & Pans", "PAN", 4, 6'000, 12, kGoods, kM | kC,
     "Frying Pan|Saucepan|Cast Iron Skillet|Dutch Oven|Stockpot|Wok|Cookware Set",
     "non-stick|induction-ready|oven-safe|stainless|enamelled|heavy-duty|tri-ply|lightweight",
     "An even base spreads heat with no hot spots.|Riveted handles stay cool on the hob.|"
     "The {m} body sears, braises and bakes."},
    LeafData{"cookware", "bakeware", "Bakeware", "BKW", 2, 2'500, 10, kGoods, kM | kC,
     "Baking Tray|Cake Tin|Muffin Pan|Loaf Tin|Pie Dish",
     "non-stick|loose-bottomed|heavy-gauge|dishwasher-safe|silicone|ceramic|rectangular|round",
     "Bakes evenly for golden crusts every time.|Cakes and loaves release cleanly.|"
     "Rolled edges resist warping in a hot oven."},
    LeafData{"cookware", "kitchen-knives", "Kitchen Knives", "KNF", 2, 5'500, 12, kGoods, kM,
     "Chef Knife|Knife Set|Bread Knife|Paring Knife|Santoku Knife|Knife Block",
     "forged|razor-sharp|full-tang|Japanese|German|balanced|high-carbon|serrated",
     "The {a} blade holds its edge through months of daily prep.|"
     "A balanced handle reduces fatigue when chopping.|Sharpened by hand to a precise angle."},
    // ---- Home & Kitchen / Kitchen Appliances
    LeafData{"kitchen-appliances", "coffee-machines", "Coffee Machines", "CFM",
             3, 18'000, 14, kGoods, kC | kM,
     "Espresso Machine|Coffee Maker|Bean-to-Cup Machine|Pour-Over Set|Milk Frother|Coffee Grinder",
     "programmable|automatic|compact|stainless|single-serve|barista-style|quiet|thermal",
     "Fifteen bars of pressure pull rich, creamy espresso.|"
     "A steam wand textures milk for lattes and cappuccinos.|Brews a full carafe before the alarm goes off."},
    LeafData{"kitchen-appliances", "blenders-mixers", "Blenders & Mixers", "BLN", 2, 9'000, 12, kGoods, kC,
     "Blender|Personal Blender|Hand Blender|Food Processor|Stand Mixer",
     "powerful|high-speed|cordless|compact|multi-speed|heavy-duty|quiet|variable-speed",
     "Crushes ice and frozen fruit in seconds.|Blends smoothies straight into a travel cup.|"
     "A powerful motor kneads dough for bread and pizza."},
    LeafData{"kitchen-appliances", "air-fryers-ovens", "Air Fryers & Ovens", "AFR", 2, 11'000, 10, kGoods, kC,
     "Air Fryer|Toaster Oven|Microwave|Slow Cooker|Multi Cooker|Rice Cooker",
     "digital|dual-basket|large-capacity|compact|programmable|energy-saving|oil-free|smart",
     "Crisps fries and wings with little or no oil.|Preset programmes take the guesswork out of dinner.|"
     "Cooks a family meal in half the time of an oven."},
    LeafData{"kitchen-appliances", "kettles-toasters", "Kettles & Toasters", "KTL",
             2, 4'500, 10, kGoods, kC | kM,
     "Electric Kettle|Toaster|Gooseneck Kettle|Sandwich Maker|Waffle Maker",
     "fast-boil|temperature-control|cordless|retro|two-slice|four-slice|quiet|stainless",
     "Boils a full litre in under three minutes.|Variable browning gives toast just the way you like it.|"
     "Keep-warm mode holds the temperature for half an hour."},
    // ---- Home & Kitchen / Furniture
    LeafData{"furniture", "chairs", "Chairs", "CHR", 3, 15'000, 12, kGoods, kW | kM | kC | kS,
     "Office Chair|Dining Chair|Armchair|Bar Stool|Rocking Chair|Gaming Chair",
     "ergonomic|upholstered|swivel|stackable|adjustable|padded|reclining|mid-century",
     "Adjustable lumbar support keeps you comfortable all day.|"
     "The {m} frame is sturdy without feeling heavy.|Felt pads on the feet protect wooden floors."},
    LeafData{"furniture", "desks-tables", "Desks & Tables", "DSK", 3, 23'000, 12, kGoods, kW | kM | kS,
     "Standing Desk|Writing Desk|Dining Table|Coffee Table|Side Table|Console Table",
     "height-adjustable|extendable|solid|round|compact|foldable|industrial|rustic",
     "An electric motor moves from sitting to standing in seconds.|"
     "The {m} top resists scratches, heat and spills.|"
     "Seats six comfortably and folds down for smaller rooms."},
    LeafData{"furniture", "shelving-storage", "Shelving & Storage", "SHL", 3, 9'000, 12, kGoods, kW | kS,
     "Bookshelf|Wall Shelf|Storage Cabinet|Shoe Rack|Storage Baskets|Chest of Drawers",
     "modular|wall-mounted|freestanding|stackable|narrow|open|ladder-style|woven",
     "Adjustable shelves fit books, plants and boxes.|"
     "Anti-tip hardware keeps it safely anchored to the wall.|"
     "Clears clutter from hallways, bedrooms and offices."},
    LeafData{"furniture", "sofas-beds", "Sofas & Beds", "SOF", 2, 70'000, 12, kGoods, kF | kC | kS,
     "Sofa|Corner Sofa|Sofa Bed|Bed Frame|Loveseat|Ottoman",
     "three-seater|modular|velvet|upholstered|storage|deep-seated|reclining|compact",
     "Deep cushions with pocket springs keep their shape for years.|Removable covers unzip for washing.|"
     "Solid hardwood legs lift it for easy cleaning underneath."},
    // ---- Home & Kitchen / Bed & Bath
    LeafData{"bed-bath", "bedding", "Bedding", "BED", 4, 6'000, 10, kApparel, kF | kC,
     "Duvet Cover Set|Sheet Set|Duvet|Mattress Topper|Weighted Blanket|Throw Blanket",
     "breathable|hypoallergenic|king-size|double|all-season|quilted|cooling|washable",
     "A {a} weave that keeps you cool in summer and cosy in winter.|"
     "Hidden button closures keep the duvet in place.|Gets softer with every wash."},
    LeafData{"bed-bath", "towels", "Towels", "TWL", 2, 3'000, 8, kApparel, kF | kC,
     "Bath Towel|Towel Set|Bath Sheet|Hand Towel|Beach Towel|Bath Mat",
     "plush|quick-dry|absorbent|lightweight|ribbed|waffle|oversized|hotel-style",
     "Dense loops soak up water and dry quickly.|Double-stitched hems stand up to hot washes.|"
     "Hotel comfort for every day."},
    LeafData{"bed-bath", "pillows-cushions", "Pillows & Cushions", "PIL", 2, 3'500, 8, kApparel, kF | kC,
     "Pillow|Memory Foam Pillow|Cushion|Cushion Cover|Body Pillow",
     "supportive|soft|firm|hypoallergenic|down-alternative|orthopaedic|washable|cooling",
     "Supports neck and shoulders for side, back and front sleepers.|Fluffs back into shape every morning.|"
     "A zipped cover comes off for washing."},
    // ---- Home & Kitchen / Lighting & Decor
    LeafData{"lighting-decor", "lamps", "Lamps", "LMP", 3, 7'000, 12, kGoods, kM | kW | kC | kS,
     "Desk Lamp|Floor Lamp|Table Lamp|Pendant Light|Smart Bulb|LED Strip",
     "dimmable|smart|adjustable|arched|touch-sensitive|warm-white|colour-changing|cordless",
     "Dimmable light shifts from bright work mode to a soft evening glow.|"
     "An adjustable arm puts light exactly where you need it.|Energy-efficient LEDs last for years."},
    LeafData{"lighting-decor", "rugs", "Rugs", "RUG", 2, 12'000, 12, kGoods, kF | kC | kS,
     "Area Rug|Runner Rug|Round Rug|Outdoor Rug|Shaggy Rug",
     "hand-woven|washable|non-slip|flat-weave|thick|low-pile|geometric|distressed",
     "A low pile sits easily under doors and furniture.|Woven by artisans on traditional looms.|"
     "Holds its colour in sunny rooms."},
    LeafData{"lighting-decor", "candles-home-fragrance", "Candles & Home Fragrance", "CND",
             2, 2'500, 8, kGoods, kR,
     "Scented Candle|Reed Diffuser|Candle Set|Wax Melts|Essential Oil Diffuser",
     "hand-poured|long-burning|soy|natural|three-wick|calming|seasonal|refillable",
     "Notes of {r} fill the room within minutes.|Soy wax poured by hand burns clean for up to fifty hours.|"
     "A cotton wick lights easily and burns evenly."},
    LeafData{"lighting-decor", "vases-wall-art", "Vases & Wall Art", "DEC",
             2, 4'500, 12, kGoods, kM | kW | kC | kS,
     "Vase|Wall Mirror|Framed Print|Wall Clock|Picture Frame|Plant Pot",
     "handmade|decorative|oversized|framed|glazed|minimalist|abstract|botanical",
     "A {a} piece that lifts a bare wall or shelf.|Each one is finished by hand, so no two are quite alike.|"
     "Hanging hardware is included."},
    // ---- Fashion / Men's Clothing
    LeafData{"mens-clothing", "mens-shirts", "Men's Shirts", "MSH", 4, 4'000, 8, kApparel, kF | kC,
     "Oxford Shirt|T-Shirt|Polo Shirt|Flannel Shirt|Linen Shirt|Henley",
     "slim-fit|regular-fit|short-sleeve|long-sleeve|button-down|crew-neck|relaxed|stretch",
     "Cut from {f} that softens with every wash.|A {a} cut that works tucked or untucked.|"
     "Reinforced seams and sturdy buttons."},
    LeafData{"mens-clothing", "mens-trousers-jeans", "Men's Trousers & Jeans", "MTR",
             3, 5'500, 8, kApparel, kF | kC,
     "Chinos|Jeans|Joggers|Cargo Trousers|Shorts|Suit Trousers",
     "slim|straight-leg|tapered|stretch|relaxed|water-repellent|tailored|lightweight",
     "A touch of stretch for all-day comfort.|Deep pockets hold a phone and wallet securely.|"
     "Belt loops, a zip fly and a button waist."},
    LeafData{"mens-clothing", "mens-jackets-coats", "Men's Jackets & Coats", "MJK",
             3, 12'000, 10, kApparel, kF | kC,
     "Rain Jacket|Puffer Jacket|Wool Coat|Denim Jacket|Bomber Jacket|Gilet",
     "waterproof|insulated|packable|hooded|windproof|quilted|lightweight|lined",
     "Recycled insulation traps warmth without the weight.|Taped seams and a storm flap keep rain out.|"
     "Packs into its own pocket for travel."},
    // ---- Fashion / Women's Clothing
    LeafData{"womens-clothing", "womens-dresses", "Women's Dresses", "WDR", 4, 6'500, 8, kApparel, kF | kC,
     "Midi Dress|Maxi Dress|Wrap Dress|Shirt Dress|Summer Dress|Knitted Dress",
     "floral|wrap|sleeveless|tiered|fitted|flowing|smocked|pleated",
     "A {a} silhouette that moves beautifully.|Fully lined, with hidden side pockets.|"
     "Dress it up with heels or down with sneakers."},
    LeafData{"womens-clothing", "womens-tops", "Women's Tops", "WTP", 4, 3'500, 8, kApparel, kF | kC,
     "Blouse|T-Shirt|Tank Top|Shirt|Bodysuit|Tunic",
     "relaxed|cropped|oversized|ruffled|v-neck|puff-sleeve|sheer|fitted",
     "A {a} shape in soft {f}.|Easy to tuck into jeans or wear loose.|A wardrobe staple in every colour."},
    LeafData{"womens-clothing", "womens-knitwear", "Women's Knitwear", "WKN", 3, 7'000, 10, kApparel, kF | kC,
     "Jumper|Cardigan|Turtleneck|Knitted Vest|Sweater",
     "chunky|cable-knit|ribbed|oversized|fine-knit|cropped|cosy|roll-neck",
     "Knitted to stay soft and warm.|Ribbed cuffs and hem hold their shape.|Hand wash cold and dry flat."},
    // ---- Fashion / Shoes
    LeafData{"shoes", "sneakers-running-shoes", "Sneakers & Running Shoes", "SNK", 4, 8'500, 10, kApparel, kC,
     "Sneakers|Running Shoes|Trail Running Shoes|Canvas Shoes|Walking Shoes|Slip-On Shoes",
     "lightweight|breathable|cushioned|low-top|high-top|waterproof|retro|vegan",
     "A responsive foam midsole returns energy with every stride.|"
     "Breathable mesh keeps feet cool on long runs.|A grippy rubber outsole holds on wet pavements."},
    LeafData{"shoes", "boots", "Boots", "BTS", 3, 13'000, 10, kApparel, kC,
     "Chelsea Boots|Hiking Boots|Ankle Boots|Winter Boots|Work Boots|Rain Boots",
     "waterproof|leather|lined|lace-up|insulated|heeled|non-slip|welted",
     "Leather uppers mould to your feet over time.|A lug sole grips on mud, snow and ice.|"
     "Resoleable, so they last for many winters."},
    LeafData{"shoes", "sandals-slippers", "Sandals & Slippers", "SND", 2, 4'000, 10, kApparel, kC,
     "Sandals|Flip Flops|Slides|Slippers|Espadrilles",
     "adjustable|cushioned|cork|waterproof|fleece-lined|strappy|woven|platform",
     "A contoured footbed supports the arch.|Adjustable straps for a secure, custom fit.|"
     "Light enough to pack for any trip."},
    // ---- Fashion / Accessories
    LeafData{"accessories", "bags-wallets", "Bags & Wallets", "BAG", 3, 7'000, 12, kApparel, kF | kC,
     "Backpack|Tote Bag|Crossbody Bag|Wallet|Duffel Bag|Laptop Bag",
     "leather|water-resistant|padded|vegan|roll-top|zip-top|compact|anti-theft",
     "A padded sleeve fits laptops up to 16 inches.|Plenty of pockets keep keys, cards and cables organised.|"
     "Full-grain leather that ages beautifully."},
    LeafData{"accessories", "watches", "Watches", "WAT", 2, 15'000, 14, kGoods, kC | kM,
     "Analog Watch|Chronograph|Dive Watch|Dress Watch|Field Watch",
     "automatic|quartz|water-resistant|sapphire|minimalist|vintage-inspired|solar|mechanical",
     "Sapphire crystal resists scratches.|Water resistant to 100 metres.|"
     "Quick-release straps swap in seconds."},
    LeafData{"accessories", "jewellery", "Jewellery", "JWL", 2, 6'000, 14, kGoods, 0,
     "Necklace|Earrings|Bracelet|Ring|Pendant|Charm Bracelet",
     "sterling|gold-plated|handmade|dainty|hypoallergenic|layered|engraved|beaded",
     "Hypoallergenic and nickel free.|Arrives in a gift box with a polishing cloth.|"
     "Made by hand in our own workshop."},
    LeafData{"accessories", "sunglasses-hats", "Sunglasses & Hats", "SUN", 2, 3'500, 10, kApparel, kC,
     "Sunglasses|Aviator Sunglasses|Baseball Cap|Beanie|Sun Hat|Scarf",
     "polarised|UV-protective|round|oversized|knitted|wide-brim|lightweight|classic",
     "Polarised lenses cut glare from water and roads.|Full UV400 protection.|Soft enough to wear all day."},
    // ---- Sports & Outdoors / Fitness
    LeafData{"fitness", "yoga-pilates", "Yoga & Pilates", "YOG", 3, 3'000, 10, kGoods, kC,
     "Yoga Mat|Yoga Block|Pilates Ring|Resistance Bands|Foam Roller|Yoga Strap",
     "non-slip|extra-thick|eco-friendly|cork|lightweight|cushioned|foldable|natural-rubber",
     "A grippy surface holds firm in downward dog.|Cushioning protects knees and wrists on hard floors.|"
     "Rolls up with a carry strap."},
    LeafData{"fitness", "weights-strength", "Weights & Strength", "WGT", 3, 6'000, 14, kGoods, 0,
     "Adjustable Dumbbells|Kettlebell|Barbell Set|Weight Bench|Pull-Up Bar|Weight Plates",
     "adjustable|cast-iron|rubber-coated|compact|heavy-duty|foldable|knurled|space-saving",
     "Switch weights in seconds with the selector dial.|A rubber coating protects floors and reduces noise.|"
     "Rated for heavy loads and daily training."},
    LeafData{"fitness", "cardio-machines", "Cardio Machines", "CRD", 2, 50'000, 12, kDevice, kE,
     "Treadmill|Exercise Bike|Rowing Machine|Cross Trainer|Stepper",
     "foldable|quiet|magnetic|smart|compact|incline|app-connected|self-powered",
     "Magnetic resistance is smooth and almost silent.|Folds flat and rolls away on wheels.|"
     "Connects to training apps for live classes."},
    // ---- Sports & Outdoors / Camping & Hiking
    LeafData{"camping-hiking", "tents", "Tents", "TNT", 2, 18'000, 12, kGoods, kC,
     "Tent|Backpacking Tent|Family Tent|Pop-Up Tent|Tarp|Bivvy",
     "two-person|four-person|waterproof|ultralight|freestanding|three-season|instant|windproof",
     "Pitches in under five minutes with colour-coded poles.|Two doors and two porches leave room for gear.|"
     "Taped seams keep the inside dry in a downpour."},
    LeafData{"camping-hiking", "sleeping-bags-mats", "Sleeping Bags & Mats", "SLB", 2, 9'000, 10, kGoods, kC,
     "Sleeping Bag|Sleeping Mat|Camping Pillow|Hammock|Camp Bed",
     "down|synthetic|three-season|mummy|self-inflating|ultralight|compact|insulated",
     "Rated comfortable down to minus five degrees.|Packs into a stuff sack the size of a loaf of bread.|"
     "A draught collar traps warmth on cold nights."},
    LeafData{"camping-hiking", "hiking-gear", "Hiking Gear", "HKG", 3, 5'500, 12, kGoods, kC,
     "Hiking Backpack|Trekking Poles|Headlamp|Water Filter|Camping Stove|Water Bottle",
     "lightweight|rechargeable|collapsible|insulated|waterproof|adjustable|rugged|compact",
     "Weighs less than a can of soup.|An adjustable back system fits a wide range of torso lengths.|"
     "Keeps drinks cold for a day and hot for twelve hours."},
    // ---- Sports & Outdoors / Cycling
    LeafData{"cycling", "bikes", "Bikes", "BIK", 2, 80'000, 14, kGoods, kC,
     "Road Bike|Mountain Bike|Electric Bike|Gravel Bike|City Bike|Kids Bike",
     "lightweight|electric|full-suspension|hardtail|folding|single-speed|aluminium|carbon",
     "Hydraulic disc brakes stop confidently in the wet.|A {a} frame that climbs well and corners sharply.|"
     "Mounts for racks, mudguards and bottle cages."},
    LeafData{"cycling", "cycling-accessories", "Cycling Accessories", "CYA", 3, 3'500, 12, kGoods, kC,
     "Bike Helmet|Bike Lights|Bike Lock|Cycling Gloves|Bike Pump|Saddle Bag",
     "rechargeable|reflective|lightweight|ventilated|waterproof|compact|high-visibility|padded",
     "Bright enough to be seen from half a mile away.|Ventilation channels keep your head cool on climbs.|"
     "A hardened steel shackle resists bolt cutters."},
    // ---- Sports & Outdoors / Team & Racket Sports
    LeafData{"team-racket-sports", "balls", "Balls", "BAL", 2, 2'500, 10, kGoods, kC,
     "Football|Basketball|Volleyball|Rugby Ball|Netball",
     "match|training|size-5|indoor|outdoor|durable|stitched|waterproof",
     "A grippy cover for a sure touch in any weather.|Holds its air for the whole season.|"
     "Machine-stitched panels for a true flight."},
    LeafData{"team-racket-sports", "rackets-bats", "Rackets & Bats", "RKT", 2, 6'000, 12, kGoods, 0,
     "Tennis Racket|Badminton Racket|Padel Racket|Table Tennis Bat|Squash Racket",
     "lightweight|graphite|head-heavy|balanced|oversized|beginner|professional|strung",
     "A large sweet spot forgives off-centre hits.|Comes strung and ready to play.|"
     "A cushioned grip reduces vibration."},
    // ---- Sports & Outdoors / Water Sports
    LeafData{"water-sports", "swimwear", "Swimwear", "SWM", 2, 3'500, 8, kApparel, kC,
     "Swimsuit|Swim Shorts|Bikini|Rash Guard|Swim Goggles|Wetsuit",
     "chlorine-resistant|quick-dry|UV-protective|adjustable|anti-fog|racerback|neoprene|printed",
     "Quick-dry fabric that holds its shape lap after lap.|UPF 50 protection for long days in the sun.|"
     "Anti-fog lenses stay clear for the whole session."},
    LeafData{"water-sports", "paddle-sports", "Paddle Sports", "PDL", 1, 35'000, 14, kGoods, kC,
     "Paddle Board|Kayak|Life Jacket|Dry Bag|Paddle",
     "inflatable|stable|lightweight|touring|sit-on-top|adjustable|waterproof|buoyant",
     "Inflates in minutes with the included pump.|A wide, stable deck suits beginners and families.|"
     "Rolls into a backpack for the walk to the water."},
    // ---- Books / Fiction
    LeafData{"fiction", "crime-mystery", "Crime & Mystery", "MYS", 3, 1'400, 6, kBook, 0,
     "Mystery Novel|Crime Thriller|Detective Novel|Psychological Thriller|Cosy Mystery",
     "gripping|twisty|atmospheric|chilling|page-turning|clever|dark|bestselling",
     "A missing heiress, a locked room and a detective out of time.|Every chapter ends with a twist.|"
     "Set in a small coastal town with big secrets."},
    LeafData{"fiction", "fantasy-science-fiction", "Fantasy & Science Fiction", "FAN", 3, 1'500, 6, kBook, 0,
     "Fantasy Novel|Science Fiction Novel|Epic Fantasy|Space Opera|Dystopian Novel",
     "epic|imaginative|sweeping|magical|thrilling|award-winning|dazzling|visionary",
     "A world of dragons, empires and ancient magic.|A starship crew races to save a dying planet.|"
     "Maps, appendices and a glossary of the old tongue."},
    LeafData{"fiction", "literary-fiction", "Literary Fiction", "LIT", 2, 1'500, 6, kBook, 0,
     "Novel|Short Story Collection|Debut Novel|Historical Novel|Family Saga",
     "moving|lyrical|acclaimed|tender|ambitious|luminous|prize-winning|intimate",
     "A tender portrait of a family over three generations.|Lyrical prose and a quietly devastating ending.|"
     "Longlisted for several major prizes."},
    LeafData{"fiction", "romance", "Romance", "ROM", 2, 1'200, 5, kBook, 0,
     "Romance Novel|Romantic Comedy|Historical Romance|Love Story",
     "heartwarming|witty|feel-good|charming|uplifting|sweet|swoony|steamy",
     "Two rivals, one bookshop, and a very long winter.|Witty banter and a slow-burn romance.|"
     "The perfect feel-good holiday read."},
    // ---- Books / Non-Fiction
    LeafData{"non-fiction", "biography-memoir", "Biography & Memoir", "BIO", 2, 1'800, 6, kBook, 0,
     "Biography|Memoir|Autobiography|Collected Letters",
     "candid|inspiring|revealing|definitive|unflinching|funny|intimate|authorised",
     "An extraordinary life told with warmth and honesty.|"
     "Draws on letters, diaries and hundreds of interviews.|From a small village to the world stage."},
    LeafData{"non-fiction", "history", "History", "HIS", 2, 2'000, 6, kBook, 0,
     "History Book|Military History|Illustrated History|World History",
     "sweeping|authoritative|illustrated|vivid|accessible|groundbreaking|detailed|epic",
     "Brings ancient empires and forgotten voices to life.|Maps, timelines and rare archive photographs.|"
     "Told through the eyes of ordinary people."},
    LeafData{"non-fiction", "science-nature", "Science & Nature", "SCI", 2, 2'000, 6, kBook, 0,
     "Popular Science Book|Nature Guide|Field Guide|Science Book|Astronomy Guide",
     "fascinating|accessible|illustrated|mind-expanding|practical|beautiful|clear|surprising",
     "Explains the universe, from atoms to galaxies, in plain language.|"
     "Identify birds, trees and wildflowers on your walks.|Colour photographs on every page."},
    LeafData{"non-fiction", "cookbooks", "Cookbooks", "CKB", 2, 2'500, 6, kBook, kX,
     "Cookbook|Baking Book|Vegetarian Cookbook|Quick Meals Cookbook|Barbecue Book",
     "practical|seasonal|illustrated|family-friendly|vegan|quick|comforting|authentic",
     "Over one hundred recipes with a photograph for each.|Weeknight dinners ready in thirty minutes.|"
     "Recipes featuring {x} and seasonal produce."},
    LeafData{"non-fiction", "travel-guides", "Travel Guides", "TRV", 1, 1'800, 5, kBook, 0,
     "Travel Guide|City Guide|Walking Guide|Road Trip Guide|Phrasebook",
     "pocket|updated|illustrated|practical|insider|detailed|compact|new",
     "Fold-out maps and suggested itineraries for every budget.|Where locals eat, drink and walk.|"
     "Updated for this year with new routes."},
    // ---- Books / Children's Books
    LeafData{"childrens-books", "picture-books", "Picture Books", "PBK", 2, 1'000, 5, kBook, kT,
     "Picture Book|Board Book|Bedtime Story Book|Lift-the-Flap Book",
     "illustrated|rhyming|funny|gentle|interactive|colourful|sweet|charming",
     "A bedtime adventure with {t} on every page.|Bright illustrations and rhyming text.|"
     "Lift the flaps to find the hidden animals."},
    LeafData{"childrens-books", "young-adult", "Young Adult", "YAD", 2, 1'200, 5, kBook, kT,
     "Young Adult Novel|Graphic Novel|Adventure Story|Fantasy Adventure",
     "thrilling|funny|heartfelt|fast-paced|bestselling|spellbinding|bold|adventurous",
     "A group of friends, a secret map and one unforgettable summer.|Colour art on every page.|"
     "The first book in a bestselling series."},
    // ---- Music & Film / Musical Instruments
    LeafData{"musical-instruments", "guitars", "Guitars", "GTR", 2, 30'000, 14, kGoods, kC | kW,
     "Acoustic Guitar|Electric Guitar|Classical Guitar|Bass Guitar|Ukulele|Guitar Amp",
     "solid-top|full-size|left-handed|beginner|cutaway|vintage|travel|electro-acoustic",
     "A {m} body gives a warm, resonant tone.|Low action and a slim neck make chords easy.|"
     "Comes with a gig bag, strap and spare strings."},
    LeafData{"musical-instruments", "keyboards-pianos", "Keyboards & Pianos", "PNO",
             1, 45'000, 14, kDevice, 0,
     "Digital Piano|Keyboard|Stage Piano|MIDI Controller|Synthesizer",
     "weighted|88-key|portable|velocity-sensitive|compact|polyphonic|USB|beginner",
     "Weighted hammer-action keys feel like an acoustic piano.|Hundreds of built-in voices and rhythms.|"
     "A headphone output for silent practice."},
    LeafData{"musical-instruments", "drums-percussion", "Drums & Percussion", "DRM", 1, 25'000, 16, kGoods, 0,
     "Drum Kit|Electronic Drum Kit|Cajon|Snare Drum|Djembe|Drumsticks",
     "electronic|compact|full-size|quiet|beginner|handmade|mesh-head|portable",
     "Mesh heads feel natural and keep the noise down.|A complete kit with stool, sticks and pedals.|"
     "Carved by hand from a single piece of wood."},
    // ---- Music & Film / Records & CDs
    LeafData{"records-cds", "vinyl-records", "Vinyl Records", "VNL", 3, 2'800, 6, kMedia, 0,
     "Vinyl LP|Double LP|Vinyl Box Set|Picture Disc|Vinyl Single",
     "remastered|limited|heavyweight|coloured|deluxe|live|debut|anniversary",
     "Remastered from the original tapes.|A gatefold sleeve with liner notes and rare photographs.|"
     "Pressed on heavyweight vinyl for a quiet, dynamic sound."},
    LeafData{"records-cds", "cds", "CDs", "CDS", 1, 1'400, 5, kMedia, 0,
     "CD Album|Live Album|Greatest Hits|Soundtrack|CD Box Set",
     "remastered|deluxe|live|expanded|collector|debut|acoustic|classic",
     "Includes three previously unreleased tracks.|A booklet with lyrics and photographs.|"
     "Recorded live on a sold-out tour."},
    // ---- Music & Film / Film & TV
    LeafData{"film-tv", "movies", "Movies", "MOV", 2, 1'800, 6, kMedia, 0,
     "Blu-ray|4K Blu-ray|DVD|Film Collection|Steelbook",
     "restored|extended|award-winning|classic|animated|collector|special|anniversary",
     "Restored in 4K from the original negative.|Includes a director commentary and deleted scenes.|"
     "A family favourite for movie night."},
    LeafData{"film-tv", "tv-series", "TV Series", "TVB", 1, 3'500, 8, kMedia, 0,
     "Complete Series|Season Box Set|Documentary Series|Mini-Series",
     "complete|acclaimed|remastered|limited|bingeable|award-winning|classic|gripping",
     "Every episode of the acclaimed series.|Hours of bonus features and interviews.|"
     "A gripping story told across ten episodes."},
    // ---- Toys & Games / Games & Puzzles
    LeafData{"games-puzzles", "board-games", "Board Games", "BRD", 3, 3'000, 8, kGoods, kT,
     "Board Game|Strategy Game|Party Game|Cooperative Game|Chess Set|Family Game",
     "strategic|cooperative|quick|family|competitive|award-winning|classic|hilarious",
     "Games last about forty-five minutes.|Build, trade and race your rivals to victory.|"
     "Beautifully illustrated, with {t} throughout."},
    LeafData{"games-puzzles", "jigsaw-puzzles", "Jigsaw Puzzles", "PUZ", 2, 2'000, 6, kGoods, kT,
     "Jigsaw Puzzle|Wooden Puzzle|Floor Puzzle|3D Puzzle|Puzzle Set",
     "1000-piece|500-piece|wooden|challenging|colourful|panoramic|glow-in-the-dark|chunky",
     "Precision-cut pieces fit snugly together.|A colourful scene of {t} to piece together.|"
     "Includes a poster of the finished picture."},
    LeafData{"games-puzzles", "card-games", "Card Games", "CRG", 2, 1'200, 6, kGoods, 0,
     "Card Game|Playing Cards|Trivia Game|Word Game|Dice Game",
     "quick|portable|hilarious|strategic|classic|family|travel|tricky",
     "Fits in a pocket for games on the go.|Rounds take ten minutes, so there is always time for one more.|"
     "Hundreds of questions for the whole family."},
    // ---- Toys & Games / Construction & Science
    LeafData{"construction-science", "building-sets", "Building Sets", "BLD", 3, 4'000, 12, kGoods, kT,
     "Building Set|Construction Set|Magnetic Tiles|Marble Run|Building Blocks",
     "magnetic|creative|motorised|compatible|wooden|large|starter|deluxe",
     "Hundreds of pieces to build an adventure with {t}.|Works with the other sets in the range.|"
     "Motorised parts bring your builds to life."},
    LeafData{"construction-science", "science-kits", "Science Kits", "SCK", 2, 3'500, 10, kGoods, kT,
     "Science Kit|Robot Kit|Coding Robot|Microscope|Telescope|Chemistry Set",
     "educational|programmable|hands-on|STEM|beginner|rechargeable|experimental|interactive",
     "Dozens of experiments explained step by step.|Learn to code by guiding the robot through mazes.|"
     "A real lens with up to 400x magnification."},
    // ---- Toys & Games / Dolls & Plush
    LeafData{"dolls-plush", "dolls-playsets", "Dolls & Playsets", "DOL", 2, 3'000, 10, kGoods, kT | kC,
     "Doll|Dollhouse|Action Figure|Play Kitchen|Playset|Puppet",
     "wooden|poseable|collectible|washable|interactive|miniature|classic|handmade",
     "Poseable arms and legs for endless stories.|A wooden dollhouse with furniture for every room.|"
     "Accessories sold separately, or in the bundle."},
    LeafData{"dolls-plush", "plush-toys", "Plush Toys", "PLS", 2, 2'000, 8, kGoods, kT | kC,
     "Teddy Bear|Plush Toy|Stuffed Animal|Comfort Blanket|Plush Dinosaur",
     "soft|cuddly|giant|washable|weighted|organic|handmade|classic",
     "Super soft and machine washable.|Embroidered eyes are safe from birth.|A cuddly friend for bedtime."},
    // ---- Toys & Games / Outdoor Play
    LeafData{"outdoor-play", "outdoor-toys", "Outdoor Toys", "OTD", 2, 4'000, 14, kGoods, kC,
     "Kick Scooter|Trampoline|Kite|Water Blaster|Swing Set|Sandpit",
     "foldable|adjustable|sturdy|weatherproof|lightweight|light-up|giant|classic",
     "Adjustable handlebars grow with your child.|Weatherproof materials stay out all summer.|"
     "Easy to assemble with the included tools."},
    // ---- Toys & Games / Video Games
    LeafData{"video-games", "consoles-games", "Consoles & Games", "CNS", 2, 6'000, 16, kDevice, kE,
     "Game Console|Video Game|Handheld Console|Retro Console|VR Headset",
     "portable|retro|multiplayer|4K|open-world|handheld|family|wireless",
     "An open world packed with quests, secrets and rivals.|Play on the big screen or take it on the go.|"
     "Hundreds of classic games built in."},
    LeafData{"video-games", "gaming-accessories", "Gaming Accessories", "GAC", 2, 5'000, 12, kDevice, kC | kE,
     "Wireless Controller|Gaming Headset|Racing Wheel|Gaming Keyboard|Charging Dock",
     "wireless|rechargeable|ergonomic|RGB|low-latency|programmable|surround|customisable",
     "Low-latency wireless for split-second reactions.|Programmable buttons and adjustable triggers.|"
     "Comfortable for marathon sessions."},
    // ---- Beauty & Health / Skincare
    LeafData{"skincare", "moisturisers", "Moisturisers", "MOI", 3, 2'200, 10, kGoods, kR,
     "Face Moisturiser|Night Cream|Day Cream|Eye Cream|Body Lotion|Hand Cream",
     "hydrating|fragrance-free|lightweight|rich|vegan|soothing|firming|non-greasy",
     "Hyaluronic acid draws moisture into the skin.|A {a} formula that leaves skin soft and supple.|"
     "Ceramides help repair the skin barrier overnight."},
    LeafData{"skincare", "serums-treatments", "Serums & Treatments", "SER", 2, 2'800, 10, kGoods, 0,
     "Vitamin C Serum|Retinol Serum|Face Oil|Exfoliating Toner|Face Mask|Cleanser",
     "brightening|exfoliating|concentrated|anti-ageing|clarifying|gentle|vegan|fast-absorbing",
     "Fades dark spots and evens skin tone.|Start twice a week and build up slowly.|"
     "Gently exfoliates for a smoother, brighter complexion."},
    LeafData{"skincare", "sun-care", "Sun Care", "SPF", 2, 1'800, 8, kGoods, 0,
     "Sunscreen|Face Sunscreen|Sun Spray|After Sun Gel|Tinted Sunscreen",
     "SPF50|water-resistant|mineral|broad-spectrum|invisible|reef-friendly|lightweight|sensitive",
     "Broad-spectrum protection against UVA and UVB.|No white cast on any skin tone.|"
     "Water resistant for up to eighty minutes."},
    // ---- Beauty & Health / Hair Care
    LeafData{"hair-care", "shampoo-conditioner", "Shampoo & Conditioner", "SHA", 2, 1'400, 8, kGoods, kR,
     "Shampoo|Conditioner|Hair Mask|Dry Shampoo|Hair Oil|Shampoo Bar",
     "nourishing|volumising|sulphate-free|repairing|clarifying|curl-defining|moisturising|gentle",
     "A {a} formula with notes of {r}.|Leaves hair soft, shiny and easy to comb.|"
     "Concentrated, so one bottle lasts for months."},
    LeafData{"hair-care", "hair-tools", "Hair Tools", "HTL", 2, 6'000, 12, kDevice, kC,
     "Hair Dryer|Hair Straightener|Curling Wand|Hot Brush|Hair Clipper",
     "ionic|ceramic|cordless|travel-size|fast-drying|adjustable|professional|lightweight",
     "Ionic technology dries hair fast with less frizz.|Three heat settings and a cool shot button.|"
     "Heats up in thirty seconds."},
    // ---- Beauty & Health / Makeup
    LeafData{"makeup", "lip-care", "Lipstick & Lip Care", "LIP", 2, 1'500, 8, kGoods, kC,
     "Lipstick|Lip Gloss|Lip Balm|Lip Liner|Lip Oil",
     "matte|glossy|long-lasting|hydrating|sheer|tinted|nourishing|transfer-proof",
     "Rich colour in a single swipe.|Shea butter keeps lips soft.|A {a} finish that lasts for hours."},
    LeafData{"makeup", "eye-face-makeup", "Eye & Face Makeup", "EYE", 2, 2'000, 8, kGoods, kC,
     "Mascara|Eyeshadow Palette|Eyeliner|Foundation|Concealer|Blush",
     "waterproof|volumising|buildable|smudge-proof|long-wear|matte|shimmer|natural",
     "Buildable coverage from sheer to full.|Smudge-proof through long, warm days.|"
     "Twelve shades from soft neutrals to bold {c}."},
    // ---- Beauty & Health / Fragrance
    LeafData{"fragrance", "perfume-cologne", "Perfume & Cologne", "PRF", 2, 5'500, 10, kGoods, kR,
     "Eau de Parfum|Eau de Toilette|Cologne|Body Mist|Perfume Oil|Travel Spray",
     "floral|woody|fresh|citrus|musky|unisex|long-lasting|spicy",
     "Top notes of {r} settle into a warm, woody base.|A {a} scent for day and evening.|"
     "A travel spray fits in any bag."},
    // ---- Beauty & Health / Health & Wellness
    LeafData{"health-wellness", "vitamins-supplements", "Vitamins & Supplements", "VIT",
             3, 1'800, 8, kFood, kX,
     "Multivitamin|Vitamin D3|Omega-3 Capsules|Protein Powder|Magnesium Tablets|Probiotic",
     "vegan|high-strength|sugar-free|gluten-free|chewable|slow-release|daily|natural",
     "One small capsule a day.|Tested by an independent lab for purity and strength.|"
     "A {x} flavour that mixes easily with water or milk."},
    LeafData{"health-wellness", "oral-care", "Oral Care", "ORL", 2, 3'000, 14, kDevice, kC,
     "Electric Toothbrush|Water Flosser|Toothpaste|Replacement Brush Heads|Whitening Kit",
     "rechargeable|sonic|whitening|sensitive|fluoride|travel-size|gentle|smart",
     "Thirty thousand strokes a minute for a clean you can feel.|"
     "A built-in timer encourages two full minutes.|A travel case holds the brush and charger."},
    LeafData{"health-wellness", "shaving-grooming", "Shaving & Grooming", "SHV", 2, 3'500, 12, kDevice, 0,
     "Electric Shaver|Beard Trimmer|Safety Razor|Shaving Cream|Beard Oil|Grooming Kit",
     "cordless|waterproof|precise|rechargeable|sensitive|stainless|adjustable|travel-size",
     "Precise blades trim and shape without pulling.|Waterproof for use in the shower.|"
     "Twenty length settings for any style."},
    // ---- Grocery / Coffee & Tea
    LeafData{"coffee-tea", "coffee", "Coffee", "CFE", 3, 1'200, 6, kFood, kO | kX,
     "Whole Bean Coffee|Ground Coffee|Coffee Pods|Instant Coffee|Cold Brew Concentrate|Decaf Coffee",
     "single-origin|dark-roast|medium-roast|light-roast|organic|fair-trade|smooth|bold",
     "{o} beans with notes of {x} and dark chocolate.|A {a} coffee for espresso, filter or cafetiere.|"
     "Roasted in small batches for a balanced cup."},
    LeafData{"coffee-tea", "tea", "Tea", "TEA", 2, 800, 6, kFood, kO | kX,
     "Green Tea|Black Tea|Herbal Tea|Loose Leaf Tea|Chai|Matcha|Earl Grey Tea",
     "loose-leaf|organic|caffeine-free|whole-leaf|calming|refreshing|spiced|ceremonial",
     "Whole leaves from {o} gardens, with hints of {x}.|Steep for three minutes for a bright, clean cup.|"
     "Plastic-free pyramid bags."},
    // ---- Grocery / Pantry
    LeafData{"pantry", "pasta-rice-grains", "Pasta, Rice & Grains", "PST", 3, 400, 6, kFood, kO,
     "Spaghetti|Penne|Basmati Rice|Risotto Rice|Quinoa|Couscous|Egg Noodles",
     "bronze-cut|wholewheat|organic|gluten-free|long-grain|artisan|quick-cook|wholegrain",
     "Bronze-die cut for a rough texture that holds sauce.|Cooks in ten minutes.|"
     "Grown in {o} fields and dried slowly."},
    LeafData{"pantry", "oils-vinegars", "Oils & Vinegars", "OIL", 2, 1'000, 8, kFood, kO | kX,
     "Olive Oil|Extra Virgin Olive Oil|Balsamic Vinegar|Sesame Oil|Cider Vinegar|Rapeseed Oil",
     "cold-pressed|extra-virgin|aged|organic|unfiltered|single-estate|fruity|peppery",
     "Pressed from {o} olives within hours of harvest.|A {a} oil for dressings, dipping and finishing.|"
     "Aged in oak barrels for twelve years."},
    LeafData{"pantry", "spices-sauces", "Spices & Sauces", "SPC", 3, 500, 8, kFood, kO | kX,
     "Smoked Paprika|Sea Salt|Black Pepper|Curry Powder|Chilli Sauce|Pasta Sauce|Pesto|Soy Sauce",
     "smoked|hot|mild|organic|fiery|aromatic|small-batch|authentic",
     "A {a} blend with {x} and toasted cumin.|Adds depth to stews, curries and roasts.|"
     "Made in small batches from a family recipe."},
    // ---- Grocery / Snacks & Sweets
    LeafData{"snacks-sweets", "chocolate-sweets", "Chocolate & Sweets", "CHO", 3, 600, 8, kFood, kX | kO,
     "Dark Chocolate|Milk Chocolate|Chocolate Truffles|Fudge|Gummy Bears|Hot Chocolate",
     "single-origin|vegan|salted|creamy|fair-trade|rich|handmade|sugar-free",
     "Seventy percent cocoa with a hint of {x}.|Smooth, rich and made from bean to bar.|"
     "A gift box of twenty handmade pieces."},
    LeafData{"snacks-sweets", "crisps-crackers", "Crisps & Crackers", "CHP", 2, 300, 6, kFood, kX,
     "Potato Chips|Tortilla Chips|Crackers|Rice Cakes|Popcorn|Pretzels",
     "crunchy|kettle-cooked|baked|lightly-salted|spicy|sharing-size|gluten-free|wholegrain",
     "Cooked in small batches for extra crunch.|Seasoned with {x}.|Perfect with dips or cheese."},
    LeafData{"snacks-sweets", "nuts-dried-fruit", "Nuts & Dried Fruit", "NUT", 2, 700, 6, kFood, kX | kO,
     "Roasted Almonds|Trail Mix|Cashews|Dried Mango|Mixed Nuts|Granola Bars",
     "roasted|unsalted|honey-roasted|raw|organic|protein-rich|resealable|natural",
     "Slow-roasted and lightly seasoned with {x}.|A handful of energy for long afternoons.|"
     "Packed in a resealable pouch."},
    // ---- Grocery / Breakfast
    LeafData{"breakfast", "cereal-granola", "Cereal & Granola", "CER", 2, 500, 5, kFood, kX,
     "Granola|Muesli|Porridge Oats|Breakfast Cereal|Overnight Oats",
     "crunchy|wholegrain|high-fibre|no-added-sugar|toasted|gluten-free|organic|protein",
     "Toasted oats with {x} and a little honey.|High in fibre to keep you going until lunch.|"
     "Great with yoghurt, milk or fresh fruit."},
    LeafData{"breakfast", "jams-spreads", "Jams & Spreads", "JAM", 2, 500, 5, kFood, kX,
     "Strawberry Jam|Peanut Butter|Honey|Orange Marmalade|Chocolate Spread|Almond Butter",
     "smooth|crunchy|raw|organic|small-batch|reduced-sugar|thick-cut|spreadable",
     "Made with whole fruit and cooked in copper pans.|"
     "Spread it on toast, swirl it into porridge, or bake with it.|A hint of {x} in every spoonful."},
    // ---- Grocery / Drinks
    LeafData{"drinks", "juices-soft-drinks", "Juices & Soft Drinks", "JCE", 2, 400, 6, kFood, kX,
     "Orange Juice|Apple Juice|Lemonade|Kombucha|Energy Drink|Oat Milk",
     "freshly-squeezed|sparkling|sugar-free|organic|cloudy|low-calorie|refreshing|barista",
     "Pressed from fruit, never from concentrate.|Lightly sparkling with a hint of {x}.|"
     "No added sugar, just fruit."},
    LeafData{"drinks", "water", "Water", "WTR", 1, 600, 5, kFood, kX,
     "Sparkling Water|Mineral Water|Flavoured Water|Spring Water|Coconut Water",
     "sparkling|still|natural|flavoured|alkaline|low-sodium|refreshing|multipack",
     "Naturally filtered through ancient rock.|Gently sparkling with a natural {x} flavour.|"
     "A multipack of twelve bottles."},
    // ---- Pet Supplies / Dogs
    LeafData{"dogs", "dog-food-treats", "Dog Food & Treats", "DGF", 3, 3'000, 10, kFood, kX,
     "Dry Dog Food|Wet Dog Food|Dog Treats|Puppy Food|Dental Chews",
     "grain-free|high-protein|natural|hypoallergenic|senior|small-breed|freeze-dried|healthy",
     "Made with real chicken as the first ingredient.|Complete and balanced nutrition for every life stage.|"
     "Crunchy kibble helps keep teeth clean."},
    LeafData{"dogs", "dog-toys-gear", "Dog Toys & Gear", "DGT", 3, 2'000, 10, kGoods, kC,
     "Dog Toy|Chew Toy|Dog Lead|Dog Harness|Dog Collar|Dog Bed",
     "durable|reflective|padded|squeaky|adjustable|orthopaedic|washable|no-pull",
     "A no-pull harness that spreads pressure across the chest.|Tough rubber survives determined chewers.|"
     "Reflective stitching for evening walks."},
    // ---- Pet Supplies / Cats
    LeafData{"cats", "cat-food-treats", "Cat Food & Treats", "CTF", 3, 2'500, 8, kFood, kX,
     "Dry Cat Food|Wet Cat Food|Cat Treats|Kitten Food|Cat Milk",
     "grain-free|high-protein|indoor|sensitive|kitten|senior|hairball-control|natural",
     "Rich in protein with real salmon.|Helps control hairballs.|Small, crunchy pieces for fussy eaters."},
    LeafData{"cats", "cat-litter-furniture", "Cat Litter & Furniture", "CTR", 2, 4'000, 14, kGoods, kC,
     "Cat Litter|Litter Box|Cat Tree|Scratching Post|Cat Bed|Cat Flap",
     "clumping|odour-control|multi-level|sisal|self-cleaning|enclosed|cosy|sturdy",
     "Clumps fast and locks away odours for a week.|Sisal posts satisfy the urge to scratch.|"
     "Several levels to climb, hide and nap."},
    // ---- Pet Supplies / Small Pets & Fish
    LeafData{"small-pets-fish", "aquariums-cages", "Aquariums & Cages", "AQU", 1, 6'000, 14, kGoods, 0,
     "Aquarium|Fish Tank|Aquarium Filter|Hamster Cage|Rabbit Hutch|Bird Cage",
     "quiet|LED-lit|spacious|starter|multi-level|weatherproof|easy-clean|glass",
     "A quiet filter keeps the water crystal clear.|Plenty of room to explore, burrow and play.|"
     "LED lighting brings out natural colours."},
    // ---- Garden & DIY / Power Tools
    LeafData{"power-tools", "drills-drivers", "Drills & Drivers", "DRL", 2, 9'000, 12, kDevice, 0,
     "Cordless Drill|Impact Driver|Hammer Drill|Drill Bit Set|Electric Screwdriver",
     "cordless|brushless|18V|compact|two-speed|heavy-duty|lightweight|keyless",
     "Drills through brick, wood and steel.|An LED light shows exactly where you are working.|"
     "Two batteries and a fast charger in a sturdy case."},
    LeafData{"power-tools", "saws-sanders", "Saws & Sanders", "SAW", 1, 11'000, 12, kDevice, 0,
     "Circular Saw|Jigsaw|Mitre Saw|Orbital Sander|Multi-Tool",
     "cordless|precise|dust-free|variable-speed|laser-guided|compact|heavy-duty|brushless",
     "A laser guide keeps cuts straight.|Dust extraction keeps the workspace clean.|"
     "Variable speed for wood, metal and plastic."},
    // ---- Garden & DIY / Hand Tools
    LeafData{"hand-tools", "tool-sets", "Tool Sets", "HTS", 2, 4'000, 12, kGoods, kM,
     "Tool Set|Screwdriver Set|Socket Set|Hammer|Tape Measure|Spirit Level",
     "chrome-vanadium|magnetic|comprehensive|compact|professional|ratcheting|insulated|precise",
     "Everything for home repairs in one sturdy case.|Magnetic tips hold screws in place.|"
     "Hardened steel resists rust and wear."},
    // ---- Garden & DIY / Garden
    LeafData{"garden", "garden-tools", "Garden Tools", "GTL", 2, 3'000, 14, kGoods, 0,
     "Pruning Shears|Garden Spade|Hose Reel|Lawn Mower|Leaf Blower|Watering Can",
     "cordless|ergonomic|stainless|lightweight|telescopic|rust-resistant|heavy-duty|expandable",
     "Sharp bypass blades make clean cuts that heal quickly.|"
     "A cordless mower that handles a medium lawn on one charge.|Ergonomic handles reduce strain on wrists."},
    LeafData{"garden", "planters-seeds", "Planters & Seeds", "PLT", 2, 2'000, 10, kGoods, kM | kW | kC,
     "Planter|Raised Bed|Seed Kit|Herb Garden Kit|Plant Pot|Grow Light",
     "self-watering|raised|frost-resistant|recycled|hanging|indoor|glazed|large",
     "A self-watering reservoir keeps roots moist for days.|"
     "Grow basil, mint and parsley on a sunny windowsill.|Frost resistant, so it can stay outside all year."},
    LeafData{"garden", "outdoor-living", "Outdoor Living", "OUT", 2, 25'000, 14, kGoods, kW | kM | kC,
     "Barbecue Grill|Garden Bench|Patio Set|Fire Pit|Parasol|Outdoor Lights",
     "weatherproof|foldable|charcoal|gas|solar|rust-proof|cushioned|portable",
     "Weatherproof {m} that looks good for years.|Gathers friends around the fire on cool evenings.|"
     "Solar lights switch on automatically at dusk."},
};
// clang-format on

// ---- shared word groups (most common first) ---------------------------------------------------

constexpr std::string_view kColours =
    "black|white|grey|navy|blue|red|green|silver|beige|brown|pink|cream|charcoal|olive|burgundy|gold|"
    "sage|tan|teal|ivory|rose|mustard|khaki|lilac|sand|coral|mint|orange|yellow|purple|stone|forest "
    "green|sky blue|terracotta|rust|slate|taupe|camel|lavender|copper|emerald|plum|peach|cobalt|indigo|"
    "ochre|blush|moss|pewter|bronze|turquoise|mauve|oatmeal|aubergine|saffron|chartreuse|vermilion|"
    "celadon|cerulean|heather";
constexpr std::string_view kMaterials =
    "stainless steel|aluminium|glass|ceramic|cast iron|copper|brass|enamel|stoneware|porcelain|chrome|"
    "titanium|recycled plastic|concrete|marble|slate|terracotta|silicone|carbon fibre|zinc|pewter|"
    "wrought iron|resin";
constexpr std::string_view kWoods =
    "oak|walnut|bamboo|pine|beech|acacia|birch|teak|ash|maple|mango wood|cherry wood|mahogany|rosewood|"
    "rattan|reclaimed pine|cork|elm|larch|spruce";
constexpr std::string_view kFabrics =
    "cotton|organic cotton|linen|wool|merino wool|polyester|denim|leather|fleece|cashmere|silk|recycled "
    "polyester|velvet|jersey|corduroy|twill|canvas|nylon|suede|chambray|flannel|tweed|satin|chiffon|"
    "seersucker|mohair|alpaca wool|poplin|ripstop|muslin|gabardine|oilskin";
constexpr std::string_view kStyles =
    "modern|classic|minimalist|vintage|rustic|Scandinavian|industrial|retro|contemporary|farmhouse|mid-"
    "century|bohemian|coastal|art deco|traditional|Mediterranean|colonial|Victorian|Nordic|urban|cottage|"
    "Gothic|baroque|Shaker";
constexpr std::string_view kFlavours =
    "vanilla|chocolate|caramel|sea salt|lemon|honey|cinnamon|strawberry|orange|ginger|mint|raspberry|"
    "coconut|hazelnut|almond|blueberry|peach|apple|cherry|maple|lime|mango|cardamom|pistachio|black "
    "pepper|rosemary|garlic|chilli|toffee|blackcurrant|elderflower|passion fruit|pomegranate|fig|"
    "turmeric|liquorice|bergamot|yuzu|rhubarb|gooseberry|tamarind|sumac|quince|damson";
constexpr std::string_view kScents =
    "lavender|vanilla|rose|citrus|sandalwood|jasmine|eucalyptus|cedarwood|bergamot|fig|amber|peony|"
    "neroli|vetiver|oud|patchouli|tuberose|orange blossom|sea salt|fresh linen|white tea|pine|mint|"
    "frankincense|myrrh|oakmoss|tonka bean|iris|violet leaf";
constexpr std::string_view kThemes =
    "dinosaurs|space|animals|pirates|unicorns|the ocean|the jungle|the farm|castles|dragons|robots|"
    "trains|fairies|superheroes|mermaids|knights|cars|rockets|insects|the arctic|volcanoes|the desert|"
    "safari animals|deep sea creatures|ancient Egypt|the Vikings|the rainforest|wizards|monsters|ballet|"
    "diggers|bees|owls";
constexpr std::string_view kOrigins =
    "Italian|Colombian|Ethiopian|Spanish|Greek|Kenyan|Brazilian|Indian|Japanese|French|Moroccan|Mexican|"
    "Peruvian|Vietnamese|Thai|Turkish|Sicilian|Guatemalan|Sumatran|Rwandan|Tanzanian|Chinese|Portuguese|"
    "Lebanese|Hawaiian|Jamaican|Yemeni|Nepalese|Honduran|Cretan";
constexpr std::string_view kFeatures =
    "bluetooth 5.3|USB-C charging|fast charging|voice control|wifi|long battery life|app control|water "
    "resistance|noise cancelling|wireless charging|Dolby Atmos|HDMI 2.1|NFC|multipoint pairing|over-the-"
    "air updates|auto-pause|gesture control|dual microphones|spatial audio|a dust filter";
constexpr std::string_view kGeneric =
    "premium|classic|essential|everyday|compact|durable|lightweight|deluxe|professional|portable|"
    "signature|original|versatile|modern|smart|sleek|sturdy|elegant|practical|ultra|heritage|limited|"
    "handcrafted|reliable|rugged|refined|timeless|natural|bold|luxury|simple|iconic|effortless|bespoke|"
    "artisan|superior";
constexpr std::string_view kSeries =
    "Aero|Nova|Pulse|Flex|Core|Edge|Air|Max|Lite|Pro|Ultra|Neo|Prime|Vista|Sonic|Echo|Zen|Volt|Orbit|"
    "Flux|Apex|Vector|Spark|Quest|Nomad|Halo|Atlas|Fusion|Terra|Astra";
constexpr std::string_view kTitleAdjectives =
    "Silent|Hidden|Last|Lost|Secret|Golden|Winter|Summer|Broken|Midnight|Distant|Burning|Quiet|Forgotten|"
    "Wild|Little|Silver|Northern|Crimson|Endless|Hollow|Bright|Painted|Drowned|Shattered|Wandering|Glass|"
    "Iron|Velvet|Paper";
constexpr std::string_view kTitleNouns =
    "Harbor|Garden|River|House|Letters|Island|Road|Sky|Kingdom|Shore|City|Mountain|Forest|Station|Light|"
    "Orchard|Crown|Map|Song|Tide|Sea|Bridge|Lantern|Room|Village|Empire|Storm|Promise|Field|Memory|"
    "Clockmaker|Lighthouse|Daughter|Cartographer|Stars|Shadows|Fire|Ashes|Wolves|Orchids";
// Also used for seeded users and authors/artists.
constexpr std::string_view kFirstNames =
    "Ava|Liam|Olivia|Noah|Emma|Mateo|Sofia|Lucas|Mia|Ethan|Amelia|Kenji|Zara|Omar|Chloe|Ravi|Ingrid|"
    "Diego|Hana|Felix|Leila|Tomas|Nadia|Samuel";
constexpr std::string_view kLastNames =
    "Smith|Garcia|Nguyen|Müller|Johnson|Kowalski|Okafor|Rossi|Tanaka|Silva|Brown|Haddad|Larsen|Patel|"
    "O'Brien|Dubois|Kim|Novak|Cohen|Ahmed|Walker|Ivanova|Moreau|Santos";

// ---- sentence templates -----------------------------------------------------------------------

constexpr std::string_view kIntros =
    "{H} {a} {n} from {b} {i} made for {u}.|{b} designed {h} {a} {n} for {u}.|Built for {u}, {h} {n} {i} "
    "{a}, {d} and easy to use.|Meet the {N} from {b}: {a}, {d} and ready for {u}.|A favourite for {u}: "
    "{@a} {n} from {b}.|Our {g} {n} {i} made for {u} and built to last.|The {g} choice for {u}: {h} {a} "
    "{n} from {b}.|Made for {u}, the {b} {n} {i} {a} and {d}.";
constexpr std::string_view kStoryIntros =
    "{T} is {@a} {n} by {w}.|From {w} comes {T}, {@a} {n} for {u}.|{w} returns with {T}, {@a} {n} that "
    "{i} perfect for {u}.|{T}: {@a}, {d} {n} by {w}.";
constexpr std::string_view kClosings =
    "Backed by a two-year warranty.|Free returns within 30 days.|A customer favourite since launch.|"
    "Designed in-house and tested by our team.|Ships within one business day.|Pairs well with the rest "
    "of the collection.|Limited stock: popular every season.|Gift wrapping available at checkout.|Rated "
    "highly by thousands of customers.|Part of our sustainable range.|Exclusive to our shop.|Order "
    "before noon for next-day delivery.";
// One list per Trait bit, in bit order.
constexpr std::array<std::string_view, 10> kTraitSentences{
    "Available in {c}.|Shown here in {c}.|This one comes in {c}.|Finished in a deep {c}.",
    "Made from {m}.|The {m} construction is built to last.|Crafted in {m} for {^g} look.",
    "Made from {f}.|Cut from soft {f}.|The {f} feels good against the skin.",
    "{^s} design that suits any space.|The {s} style fits right in.|Clean, {s} lines.",
    "With a hint of {x}.|Flavoured with {x}.|Notes of {x} throughout.",
    "Scented with {r}.|With notes of {r}.|The scent of {r} lingers softly.",
    "Features {t}.|Themed around {t}.|Kids who love {t} will be delighted.",
    "Sourced from {o} producers.|A taste of {o} tradition.|Inspired by {o} craft.",
    "Comes with {e}.|Offers {e}.|With {e} built in.",
    "Made from {m}.|The {m} construction is built to last.|Crafted in {m} for {^g} look.",
};

// ================================================================================================
// Parsing
// ================================================================================================

std::vector<std::string_view> split(std::string_view list) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t bar = list.find('|', start);
        out.push_back(
            list.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start));
        if (bar == std::string_view::npos) return out;
        start = bar + 1;
    }
}

std::vector<Word> words(std::string_view list) {
    std::vector<Word> out;
    for (std::string_view w : split(list)) out.push_back(Word{std::string(w), title_case(w)});
    return out;
}

// Nouns are written in Title Case; their running-text spelling is lower case except for words
// with a capital or a digit after the first letter ("USB-C Charger" → "USB-C charger", "4K TV").
std::vector<Word> nouns(std::string_view list) {
    std::vector<Word> out;
    for (std::string_view w : split(list)) {
        std::string lower;
        std::size_t start = 0;
        while (start < w.size()) {
            std::size_t end = w.find(' ', start);
            if (end == std::string_view::npos) end = w.size();
            const std::string_view part = w.substr(start, end - start);
            const bool keep = part.size() > 1 && std::any_of(part.begin() + 1, part.end(), [](char c) {
                                  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                              });
            if (!lower.empty()) lower.push_back(' ');
            for (const char c : part) {
                lower.push_back(!keep && c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
            }
            start = end + 1;
        }
        Word word{std::move(lower), std::string(w)};
        word.plural = is_plural(w);
        out.push_back(std::move(word));
    }
    return out;
}

std::vector<Template> templates(std::string_view list) {
    std::vector<Template> out;
    for (std::string_view t : split(list)) out.push_back(parse_template(t));
    return out;
}

Vocabulary build() {
    Vocabulary v;
    for (const TopData& t : kTops) {
        v.tops.push_back(Top{t.slug, t.name, words(t.brands), templates(t.phrases)});
    }
    for (const MidData& m : kMids) {
        const auto* const top =
            std::find_if(kTops.begin(), kTops.end(), [&m](const TopData& t) { return t.slug == m.top; });
        if (top == kTops.end()) throw std::logic_error("seed vocabulary: unknown top-level category");
        v.mids.push_back(Mid{static_cast<std::size_t>(top - kTops.begin()),
                             m.slug,
                             m.name,
                             words(m.uses),
                             templates(m.phrases)});
    }
    v.leaf_weight_prefix.push_back(0);
    for (const LeafData& l : kLeaves) {
        const auto* const mid =
            std::find_if(kMids.begin(), kMids.end(), [&l](const MidData& m) { return m.slug == l.mid; });
        if (mid == kMids.end()) throw std::logic_error("seed vocabulary: unknown subcategory");
        Leaf leaf;
        leaf.mid = static_cast<std::size_t>(mid - kMids.begin());
        leaf.top = v.mids[leaf.mid].top;
        leaf.slug = l.slug;
        leaf.name = l.name;
        leaf.sku_prefix = l.sku;
        leaf.weight = l.weight;
        leaf.median_cents = l.median_cents;
        leaf.sigma16 = l.sigma16;
        leaf.style = l.style;
        leaf.traits = l.traits;
        leaf.nouns = nouns(l.nouns);
        leaf.attributes = words(l.attributes);
        leaf.phrases = templates(l.phrases);
        v.leaves.push_back(std::move(leaf));
        v.leaf_weight_prefix.push_back(v.leaf_weight_prefix.back() + l.weight);
    }
    v.colours = words(kColours);
    v.materials = words(kMaterials);
    v.woods = words(kWoods);
    v.fabrics = words(kFabrics);
    v.styles = words(kStyles);
    v.flavours = words(kFlavours);
    v.scents = words(kScents);
    v.themes = words(kThemes);
    v.origins = words(kOrigins);
    v.features = words(kFeatures);
    v.generic = words(kGeneric);
    v.series = words(kSeries);
    v.title_adjectives = words(kTitleAdjectives);
    v.title_nouns = words(kTitleNouns);
    v.first_names = words(kFirstNames);
    v.last_names = words(kLastNames);
    v.intros = templates(kIntros);
    v.story_intros = templates(kStoryIntros);
    v.closings = templates(kClosings);
    for (std::string_view list : kTraitSentences) v.trait_sentences.push_back(templates(list));
    return v;
}

}  // namespace

Template parse_template(std::string_view text) {
    Template out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t open = text.find('{', start);
        if (open == std::string_view::npos) {
            out.push_back(Segment{text.substr(start), 0, Article::kNone});
            return out;
        }
        const std::size_t close = text.find('}', open);
        if (close == std::string_view::npos) throw std::logic_error("seed template: unterminated slot");
        std::string_view key = text.substr(open + 1, close - open - 1);
        Segment segment{text.substr(start, open - start), 0, Article::kNone};
        if (!key.empty() && (key.front() == '@' || key.front() == '^')) {
            segment.article = key.front() == '@' ? Article::kAgreeing : Article::kAlways;
            key.remove_prefix(1);
        }
        constexpr std::string_view kSlots = "nNaAdDbgGcCmMfFsSxXrRtoeuwTzqhHi";
        if (key.size() != 1 || kSlots.find(key.front()) == std::string_view::npos) {
            throw std::logic_error("seed template: unknown slot");
        }
        segment.slot = key.front();
        out.push_back(segment);
        start = close + 1;
    }
}

bool is_plural(std::string_view noun) {
    const std::size_t space = noun.rfind(' ');
    const std::string_view last = space == std::string_view::npos ? noun : noun.substr(space + 1);
    if (!last.ends_with('s') || last.ends_with("ss") || last.ends_with("us") || last.ends_with("ies"))
        return false;
    return last != "Lens";
}

std::string title_case(std::string_view text) {
    std::string out(text);
    bool word_start = true;
    for (char& c : out) {
        if (word_start && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        word_start = c == ' ' || c == '-';
    }
    return out;
}

std::string_view article_for(std::string_view word) {
    if (word.empty()) return "a";
    const char c = word.front();
    const bool vowel = c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'A' || c == 'E' || c == 'I' ||
                       c == 'O' ||
                       ((c == 'u' || c == 'U') && !word.starts_with("uni") && !word.starts_with("use"));
    return vowel ? "an" : "a";
}

const Vocabulary& vocabulary() {
    static const Vocabulary kVocabulary = build();
    return kVocabulary;
}

}  // namespace emporium::seed::vocab
